from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import EventType, Item
from homepage.rules import RailKind
from homepage.services import homepage_compose
from homepage.snapshot import catalog_snapshot_recheck
from merchandising.models import Campaign
from merchandising.services import (
    adjustment_create,
    block_create,
    campaign_create,
    pin_create,
    rail_create,
)
from tests.factories import ShopperFactory
from tests.homepage.helpers import record

pytestmark = pytest.mark.django_db


def _titles(page):
    return [entry.item.title for rail in page.rails for entry in rail.items]


def _new_arrivals(shop, **fields):
    return rail_create(shop=shop, key="new", title="New arrivals", kind=RailKind.NEW_ARRIVALS, size=6, **fields)


def test_a_pin_lands_at_its_slot_and_leaves_after_its_schedule(pattern_shop):
    rail = _new_arrivals(pattern_shop)
    oldest = Item.objects.filter(shop=pattern_shop).order_by("created_at").first()
    now = timezone.now()
    pin_create(rail=rail, item=oldest, slot=3, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1))

    during = homepage_compose(shop=pattern_shop, shopper=None, now=now).rails[0].items
    before = homepage_compose(shop=pattern_shop, shopper=None, now=now - timedelta(hours=1)).rails[0].items
    after = homepage_compose(shop=pattern_shop, shopper=None, now=now + timedelta(hours=2)).rails[0].items

    assert (during[2].item, during[2].slot, during[2].reason) == (oldest, 3, "Featured")
    assert len(during) == 6
    assert oldest not in [entry.item for entry in before + after]
    assert [entry.item for entry in after] == [entry.item for entry in before]


def test_an_unavailable_pinned_item_leaves_its_slot_to_the_ranking(pattern_shop):
    rail = _new_arrivals(pattern_shop)
    oldest = Item.objects.filter(shop=pattern_shop).order_by("created_at").first()
    pin_create(rail=rail, item=oldest, slot=1)
    unpinned = [entry.item for entry in homepage_compose(shop=pattern_shop, shopper=None, now=timezone.now() - timedelta(days=1)).rails[0].items]
    Item.objects.filter(pk=oldest.pk).update(available=False)

    items = [entry.item for entry in homepage_compose(shop=pattern_shop, shopper=None).rails[0].items]

    assert oldest not in items
    assert items == unpinned


def test_a_pinned_item_is_kept_for_its_rail_not_taken_by_a_rail_above(pattern_shop):
    rail_create(shop=pattern_shop, key="top", title="Top", kind=RailKind.TRENDING, size=6, position=1)
    lower = rail_create(shop=pattern_shop, key="lower", title="Lower", kind=RailKind.TRENDING, size=6, position=2)
    top_item = homepage_compose(shop=pattern_shop, shopper=None).rails[0].items[0].item
    pin_create(rail=lower, item=top_item, slot=2)

    page = homepage_compose(shop=pattern_shop, shopper=None)

    assert top_item not in [entry.item for entry in page.rails[0].items]
    assert page.rails[1].items[1].item == top_item


def test_a_blocked_item_brand_or_category_never_appears(served):
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")
    block_create(shop=served, item=lipstick)
    block_create(shop=served, brand="Fragrance")
    block_create(shop=served, category="Skin Care > Face", starts_at=timezone.now() + timedelta(days=1))
    shopper = ShopperFactory(shop=served)
    record(shopper, lipstick, EventType.VIEW, minutes_ago=2)  # would be its seed and recently viewed
    record(shopper, Item.objects.get(shop=served, title="Amber perfume"), EventType.VIEW, minutes_ago=1)

    for page in [homepage_compose(shop=served, shopper=shopper), homepage_compose(shop=served, shopper=None)]:
        titles = _titles(page) + [rail.title for rail in page.rails]
        assert not any("Amber" in title or "Red matte" in title for title in titles)
        assert "Red matte lipstick" not in titles
        assert not Item.objects.filter(shop=served, title__in=titles, brand="Fragrance").exists()
        assert Item.objects.filter(shop=served, title__in=titles, category_path="Skin Care > Face").exists()  # not yet


def test_a_campaign_rail_shows_its_banner_and_items_only_while_it_runs(served):
    now = timezone.now()
    campaign = campaign_create(
        shop=served, name="Scent week", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=7),
        banner_title="Scent week: -20%", banner_image_url="https://example.com/scent.jpg",
    )
    adjustment_create(shop=served, target="category", category="Fragrance", multiplier=3.0, campaign=campaign)

    page = homepage_compose(shop=served, shopper=None, debug=True)
    rail = page.rails[0]

    assert (rail.key, rail.title, rail.banner["title"]) == ("campaign", "Scent week: -20%", "Scent week: -20%")
    assert {entry.item.top_category for entry in rail.items} == {"Fragrance"}
    assert rail.items[0].reason == "Part of Scent week"
    after = homepage_compose(shop=served, shopper=None, debug=True, now=now + timedelta(days=8))
    assert "campaign" not in [rail.key for rail in after.rails]
    assert not any(entry.explanation["rules"] for rail in after.rails for entry in rail.items)  # its boost ended too


def test_a_campaign_rail_holds_the_items_its_boosts_match_as_the_boosts_match_them(served):
    now = timezone.now()
    campaign = campaign_create(shop=served, name="Big bottles", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1))
    big = list(Item.objects.filter(shop=served).order_by("pk")[:2])
    Item.objects.filter(pk__in=[item.pk for item in big]).update(attributes={"volume_ml": 250})  # a number
    catalog_snapshot_recheck(shop=served)  # written past the catalog services
    adjustment_create(
        shop=served, target="attribute", attribute_key="volume_ml", attribute_value="250", multiplier=2.0, campaign=campaign
    )

    page = homepage_compose(shop=served, shopper=None, debug=True)
    rail = next(rail for rail in page.rails if rail.key == "campaign")

    assert {entry.item.pk for entry in rail.items} == {item.pk for item in big}
    assert all(entry.explanation["rules"] == ["Boost ×2 volume_ml=250"] for entry in rail.items)


def test_campaign_is_live_only_inside_its_dates(shop_a):
    now = timezone.now()
    campaign = Campaign(shop=shop_a, name="Sale", starts_at=now, ends_at=now + timedelta(days=1))

    assert campaign.is_live(now)
    assert not campaign.is_live(now - timedelta(seconds=1))
    assert not campaign.is_live(now + timedelta(days=1))


def test_rules_are_validated(pattern_shop):
    rail = _new_arrivals(pattern_shop)
    item = Item.objects.filter(shop=pattern_shop).first()

    with pytest.raises(ValidationError):
        pin_create(rail=rail, item=item, slot=0)
    with pytest.raises(ValidationError):
        adjustment_create(shop=pattern_shop, target="brand", multiplier=2.0)  # names no brand
    with pytest.raises(ValidationError):
        rail_create(shop=pattern_shop, key="bad", title="Bad", kind=RailKind.TRENDING, diversity=1.5)
