"""A shopper's interest tags, as a merchandiser reads them: what they engaged with, weighted by what they did and
how lately, and what they searched for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Event, EventType, Item
from homepage.services import homepage_compose
from recommender.services import shopper_profile_refresh
from recommender.selectors import shopper_interest_tags
from tests.factories import ShopperFactory
from tests.homepage.helpers import embed_by_category, record

pytestmark = pytest.mark.django_db


def _search(shopper, words: str, minutes_ago: float) -> None:
    Event.objects.create(
        shop=shopper.shop, shopper=shopper, type=EventType.SEARCH, query=words, event_id=f"q-{words}-{minutes_ago}",
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_tags_weigh_purchases_over_views_and_keep_the_searches(pattern_shop):
    shopper = ShopperFactory(shop=pattern_shop)
    record(shopper, Item.objects.get(shop=pattern_shop, title="Vanilla body mist"), minutes_ago=5)
    record(shopper, Item.objects.get(shop=pattern_shop, title="Plum lipstick"), EventType.PURCHASE, minutes_ago=10)
    _search(shopper, "Vegan  LIPSTICK", minutes_ago=1)
    _search(shopper, "perfume", minutes_ago=20)

    tags = shopper_interest_tags(shopper=shopper)

    assert [name for name, _ in tags["categories"]] == ["Makeup > Lips", "Fragrance > Women"]  # a purchase is 8 views
    assert sum(weight for _, weight in tags["categories"]) == pytest.approx(1.0, abs=0.01)
    assert tags["brands"][0][0] == "Makeup"
    assert [name for name, _ in tags["searches"]] == ["vegan lipstick", "perfume"]  # the latest first
    assert "lipstick" in [name for name, _ in tags["keywords"]]
    assert shopper_profile_refresh(shopper=shopper).tags["searches"] == ["vegan lipstick", "perfume"]


def test_a_shopper_with_no_events_has_no_tags(pattern_shop):
    assert shopper_interest_tags(shopper=ShopperFactory(shop=pattern_shop)) == {}


def test_picked_for_you_says_what_the_shopper_keeps_coming_back_to(pattern_shop):
    embed_by_category(pattern_shop.items.all())
    shopper = ShopperFactory(shop=pattern_shop)
    for minutes_ago, title in ((3, "Rose lip gloss"), (2, "Berry lip liner"), (1, "Nude lip balm")):
        record(shopper, Item.objects.get(shop=pattern_shop, title=title), minutes_ago=minutes_ago)

    rail = homepage_compose(shop=pattern_shop, shopper=shopper, rail_keys=["for-you"]).rails[0]

    reasons = {entry.item.category_path: entry.reason for entry in rail.items}
    assert reasons["Makeup > Lips"] == "Because you like Makeup lips"
    assert {reason for category, reason in reasons.items() if category != "Makeup > Lips"} <= {"Picked for you"}


def test_one_view_is_not_yet_a_liking(pattern_shop):
    shopper = ShopperFactory(shop=pattern_shop)
    record(shopper, Item.objects.get(shop=pattern_shop, title="Rose lip gloss"), minutes_ago=1)

    rail = homepage_compose(shop=pattern_shop, shopper=shopper, rail_keys=["for-you"]).rails[0]

    assert {entry.reason for entry in rail.items} == {"Picked for you"}
