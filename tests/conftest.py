"""Named actors shared by the suite: two shops, a storefront of each, an anonymous caller, merchandisers;
and a small shop with a planted pattern, with a helper that trains its models."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Event, EventType
from catalog.services import api_key_create
from merchandising.models import Membership
from recommender.models import Family
from recommender.services import model_version_train, training_versions_create
from tests.factories import ItemFactory, ShopFactory, ShopperFactory


@pytest.fixture(autouse=True)
def throttle_counts_cleared():
    """Every test starts with nothing counted against its API keys and addresses: the counts live in Redis,
    which outlives a test (and every test client calls from 127.0.0.1)."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=cache.make_key("throttle:*"), count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def shop_a(db):
    return ShopFactory(slug="shop-a", name="Shop A")


@pytest.fixture
def shop_b(db):
    return ShopFactory(slug="shop-b", name="Shop B")


def _storefront(shop) -> APIClient:
    _, raw_key = api_key_create(shop=shop, name=f"{shop.slug} storefront")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw_key}")
    return client


@pytest.fixture
def storefront_a(shop_a):
    return _storefront(shop_a)


@pytest.fixture
def storefront_b(shop_b):
    return _storefront(shop_b)


@pytest.fixture
def anonymous():
    return APIClient()


def _merchandiser(username: str, shop) -> User:
    user = User.objects.create_user(username=username, password="not-a-real-password")
    user.groups.add(Group.objects.get(name="merchandiser"))
    Membership.objects.create(user=user, shop=shop)
    return user


@pytest.fixture
def merchandiser_a(shop_a):
    return _merchandiser("alice", shop_a)


@pytest.fixture
def merchandiser_b(shop_b):
    return _merchandiser("bob", shop_b)


@pytest.fixture(scope="session")
def beauty_path() -> Path:
    path = Path(settings.VITRINE_DEMO_DATA)
    if not (path / "sequences.txt").exists():
        pytest.skip(f"needs the Amazon Beauty dataset at {path} (../shared/datasets/amazon_beauty_5core)")
    return path


CATEGORIES = {
    "Makeup > Lips": ["Red matte lipstick", "Rose lip gloss", "Berry lip liner", "Nude lip balm", "Coral lip stain", "Plum lipstick"],
    "Skin Care > Face": ["Hydrating face cream", "Vitamin C serum", "Night repair cream", "Gentle face cleanser", "Clay face mask", "SPF 50 face lotion"],
    "Fragrance > Women": ["Jasmine eau de parfum", "Vanilla body mist", "Citrus eau de toilette", "Rose perfume oil", "Amber perfume", "Musk cologne spray"],
}
SHOPPERS_PER_CATEGORY = 14


@pytest.fixture
def pattern_shop(shop_a):
    """Items of three categories; shopper n of a category buys its items in order, starting at item n % 6."""
    start = timezone.now() - timedelta(days=30)
    events = []
    for category, titles in CATEGORIES.items():
        items = [ItemFactory(shop=shop_a, title=title, category_path=category, brand=category.split(" ")[0]) for title in titles]
        for number in range(SHOPPERS_PER_CATEGORY):
            shopper = ShopperFactory(shop=shop_a)
            for step in range(5):
                item = items[(number + step) % len(items)]
                events.append(
                    Event(
                        shop=shop_a, shopper=shopper, item=item, type=EventType.PURCHASE, event_id=f"{shopper.pk}-{step}",
                        occurred_at=start + timedelta(days=number % 7, hours=step),
                    )
                )
    Event.objects.bulk_create(events)
    return shop_a


@pytest.fixture
def train(settings, tmp_path):
    settings.VITRINE_ARTIFACTS_DIR = tmp_path / "artifacts"

    def train_families(shop, *families, time_limit_s=8.0):
        versions = training_versions_create(shop=shop, families=list(families or Family.values), time_limit_s=time_limit_s)
        return [model_version_train(version=version) for version in versions]

    return train_families
