"""Named actors shared by the suite: two shops, a storefront of each, an anonymous caller, merchandisers."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from catalog.services import api_key_create
from merchandising.models import Membership
from tests.factories import ShopFactory


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
