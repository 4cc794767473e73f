"""Training survives rows written around the API: events it cannot place in time, or that name another shop's item."""

import logging

import pytest

from catalog.models import Item, Shopper
from recommender.models import Family, ModelVersion
from recommender.selectors import shop_arrays_load, shopper_recent_events
from tests.catalog.bad_rows import OUT_OF_WINDOW, event_plant
from tests.factories import ItemFactory, ShopperFactory

pytestmark = pytest.mark.django_db

PATTERN_COUNTS = {"shoppers": 42, "items": 18, "events": 210}


def _plant_every_bad_time(shop) -> Shopper:
    shopper = Shopper.objects.filter(shop=shop).order_by("pk").first()
    item = Item.objects.filter(shop=shop).order_by("pk").first()
    for occurred_at in OUT_OF_WINDOW:
        event_plant(shopper=shopper, item=item, occurred_at=occurred_at)
    return shopper


@pytest.mark.parametrize("family", [Family.POPULARITY, Family.MF, Family.SEQUENTIAL])
def test_a_family_trains_on_the_plausible_events_when_others_lie_outside_the_window(pattern_shop, train, family):
    _plant_every_bad_time(pattern_shop)

    version, = train(pattern_shop, family)

    assert version.status == ModelVersion.Status.SUCCEEDED, version.error
    assert version.counts == PATTERN_COUNTS
    assert "2000-01-01" <= version.data_window["from"] <= version.data_window["to"]


def test_the_events_left_out_are_logged_once_with_their_count(pattern_shop, caplog):
    _plant_every_bad_time(pattern_shop)
    shopper = ShopperFactory(shop=pattern_shop)
    event_plant(shopper=shopper, item=ItemFactory(shop=ShopperFactory().shop))  # an item of another shop

    with caplog.at_level(logging.WARNING, logger="recommender.selectors"):
        arrays = shop_arrays_load(shop=pattern_shop)

    assert len(arrays.data.interactions.item_ids) == PATTERN_COUNTS["events"]
    assert shopper.pk not in arrays.shopper_pks
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert f"{len(OUT_OF_WINDOW) + 1} of {PATTERN_COUNTS['events'] + len(OUT_OF_WINDOW) + 1} events" in warnings[0]
    assert f"{len(OUT_OF_WINDOW)} outside" in warnings[0] and "1 naming another shop's item" in warnings[0]


def test_a_shoppers_recent_events_for_scoring_leave_out_the_implausible_ones(pattern_shop):
    shopper = _plant_every_bad_time(pattern_shop)

    recent = shopper_recent_events(shopper=shopper)

    assert len(recent.events) == 5  # the five planted purchases of the pattern, none of the bad ones
