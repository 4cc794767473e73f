"""Rollups per rail and hour and per event type and hour: kept as batches are stored, equal to a recount from the
raw events, read by the console's click-through; pages served counted at serve time."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Event, EventHour, EventType, RailHour
from homepage.rollups import FLUSHING_KEY, PAGES_KEY, rollup_pages_flush
from homepage.selectors import rail_click_through
from homepage.services import homepage_layout
from merchandising.services import default_rails_ensure
from tests.factories import ItemFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pages_counted_cleared():
    """Pages served wait in Redis, which outlives a test."""
    cache.delete_many([PAGES_KEY, FLUSHING_KEY])


def rollups(shop) -> tuple[list, list]:
    rails = RailHour.objects.filter(shop=shop).order_by("rail", "hour").values_list(
        "rail", "hour", "pages", "impressions", "clicks", "add_to_carts", "purchases", "revenue"
    )
    types = EventHour.objects.filter(shop=shop).order_by("hour", "type").values_list("hour", "type", "events")
    return list(rails), list(types)


def _event(number, kind, item, *, shopper="s-1", rail=None, hours_ago=1, **fields):
    context = {"request_id": "r-1", "rail": rail, "slot": 1} if rail else {}
    at = timezone.now() - timedelta(hours=hours_ago)
    return {
        "event_id": f"e-{number}", "shopper_id": shopper, "item_id": item.external_id, "type": kind,
        "occurred_at": at.isoformat(), "context": context, **fields,
    }


@pytest.fixture
def mixed_batch(shop_a):
    default_rails_ensure(shop=shop_a)  # the rails the events name
    priced, unpriced = ItemFactory(shop=shop_a, price=Decimal("19.99")), ItemFactory(shop=shop_a, price=None)
    return [
        _event(1, "impression", priced, rail="for-you"),
        _event(2, "impression", unpriced, rail="for-you"),
        _event(3, "impression", priced, rail="trending", shopper="s-2"),
        _event(4, "click", priced, rail="for-you"),
        _event(5, "add_to_cart", priced, rail="for-you"),
        _event(6, "purchase", priced, rail="for-you", value=3),
        _event(7, "purchase", unpriced, rail="for-you", value=2),  # no price: a purchase without revenue
        _event(8, "purchase", priced, rail="trending", shopper="s-2"),  # no value: a quantity of one
        _event(9, "click", priced),  # no context: in the events per hour only
        _event(10, "view", priced, rail="for-you"),  # a view is not a rail outcome
        _event(11, "click", priced, rail="for-you", hours_ago=30),  # another hour
    ]


def test_a_mixed_batch_resent_is_rolled_up_once_and_equals_a_recount(shop_a, storefront_a, mixed_batch):
    assert storefront_a.post("/api/v1/events", mixed_batch, format="json").json()["created"] == 11
    assert storefront_a.post("/api/v1/events", mixed_batch[:6], format="json").json()["duplicates"] == 6

    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    rails, types = rollups(shop_a)
    assert [row for row in rails if row[1] == hour] == [
        ("for-you", hour, 0, 2, 1, 1, 2, Decimal("59.97")),
        ("trending", hour, 0, 1, 0, 0, 1, Decimal("19.99")),
    ]
    assert [row[2:] for row in rails if row[1] != hour] == [(0, 0, 1, 0, 0, Decimal("0"))]
    assert {(kind, events) for at, kind, events in types if at == hour} == {
        ("impression", 3), ("click", 2), ("add_to_cart", 1), ("purchase", 3), ("view", 1),
    }

    call_command("rollups_rebuild", "--shop", shop_a.slug)
    assert rollups(shop_a) == (rails, types)


def test_a_batch_stored_in_part_counts_only_its_new_events(shop_a, storefront_a, mixed_batch):
    storefront_a.post("/api/v1/events", mixed_batch[:4], format="json")
    storefront_a.post("/api/v1/events", mixed_batch[2:6], format="json")

    for_you = RailHour.objects.get(shop=shop_a, rail="for-you", hour__gt=timezone.now() - timedelta(hours=2))
    assert (for_you.impressions, for_you.clicks, for_you.add_to_carts, for_you.purchases) == (2, 1, 1, 1)
    assert for_you.revenue == Decimal("59.97")


def test_click_through_reads_the_rollups_so_events_written_around_the_api_wait_for_a_recount(shop_a):
    shopper, item = ShopperFactory(shop=shop_a), ItemFactory(shop=shop_a)
    Event.objects.bulk_create(
        Event(shop=shop_a, shopper=shopper, item=item, type=kind, event_id=f"raw-{number}",
              occurred_at=timezone.now(), context={"rail": "for-you", "request_id": "r-9"})
        for number, kind in enumerate([EventType.IMPRESSION, EventType.IMPRESSION, EventType.CLICK])
    )
    since = timezone.now() - timedelta(days=1)
    assert rail_click_through(shop=shop_a, since=since) == []

    call_command("rollups_rebuild")

    assert rail_click_through(shop=shop_a, since=since) == [
        {"rail": "for-you", "impressions": 2, "clicks": 1, "purchases": 0, "ctr": 0.5}
    ]


def test_each_page_served_counts_once_for_each_rail_it_shows_and_a_recount_keeps_it(shop_a, storefront_a):
    default_rails_ensure(shop=shop_a)
    ItemFactory.create_batch(12, shop=shop_a)
    pages = [storefront_a.get("/api/v1/homepage/someone").json() for _ in range(3)]  # the second and third are cached
    homepage_layout(shop=shop_a, shopper_external_id="precomputed")  # composed ahead of a visit: not served
    shown = {rail["key"] for rail in pages[0]["rails"]}
    assert shown

    assert rollup_pages_flush() == len(shown) + 1
    assert rollup_pages_flush() == 0  # nothing counted since

    counted = dict(RailHour.objects.filter(shop=shop_a).values_list("rail", "pages"))
    assert counted == dict.fromkeys({"", *shown}, 3)  # rail "": the pages as a whole
    call_command("rollups_rebuild", "--shop", shop_a.slug)
    assert dict(RailHour.objects.filter(shop=shop_a).values_list("rail", "pages")) == counted
