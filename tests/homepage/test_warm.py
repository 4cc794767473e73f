import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from homepage.services import homepage_compose, serving_warm
from recommender.models import Family
from tests.factories import ShopperFactory

pytestmark = pytest.mark.django_db

# Read once per process and token: the catalog snapshot, the serving versions and the rules.
LOADED_ONCE = {"catalog_item", "recommender_modelversion", "merchandising_rail", "merchandising_pin"}


def _tables_read(compose) -> set[str]:
    """Tables read while composing, leaving out the availability check every page makes."""
    with CaptureQueriesContext(connection) as queries:
        compose()
    return {
        query["sql"].split(" FROM ")[1].split()[0].strip('"') for query in queries.captured_queries
        if " FROM " in query["sql"] and "NOT available" not in query["sql"]
    }


def test_after_the_warm_up_a_first_page_loads_nothing_a_process_keeps(pattern_shop, train, shop_b):
    train(pattern_shop, Family.MF)

    alive = []

    assert serving_warm(on_shop=lambda: alive.append(True)) == [pattern_shop.slug]  # shop_b serves no model
    assert alive == [True]  # the worker told its master after each shop

    shopper = pattern_shop.shoppers.first()
    assert not _tables_read(lambda: homepage_compose(shop=pattern_shop, shopper=shopper)) & LOADED_ONCE


def test_without_the_warm_up_a_first_page_loads_them(pattern_shop, train):
    train(pattern_shop, Family.MF)
    shopper = ShopperFactory(shop=pattern_shop)

    assert _tables_read(lambda: homepage_compose(shop=pattern_shop, shopper=shopper)) >= {"catalog_item", "recommender_modelversion"}
