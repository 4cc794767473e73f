"""A small shop with a planted pattern: each shopper walks one category's items in a fixed order."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Event, EventType
from recommender.models import Family
from recommender.services import model_version_train, training_versions_create
from tests.factories import ItemFactory, ShopperFactory

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
