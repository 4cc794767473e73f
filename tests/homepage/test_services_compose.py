from collections import Counter
from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from catalog.models import Event, EventType, Item
from homepage.defaults import DEFAULT_RAILS
from homepage.rules import RailKind
from homepage.services import homepage_compose, recommendations_compose
from merchandising.models import Rail
from merchandising.services import (
    adjustment_create,
    default_rails_ensure,
    rail_create,
    rail_update,
)
from recommender.models import Family
from tests.factories import ItemFactory, ShopperFactory
from tests.homepage.helpers import embed_by_category, record

pytestmark = pytest.mark.django_db


def _items(page):
    return [entry for rail in page.rails for entry in rail.items]


def _rail(page, key):
    return next((rail for rail in page.rails if rail.key == key), None)


@pytest.fixture
def ranked_shop(shop_a):
    """Twelve items in three categories, every lip item more bought than every face item, and those
    more than every fragrance: relevance alone fills a short rail with lips."""
    items = []
    for category, name, brand in [
        ("Makeup > Lips", "Lips", "Rouge"), ("Skin Care > Face", "Face", "Dew"), ("Fragrance > Women", "Fragrance", "Scent")
    ]:
        for number in range(4):
            items.append(
                ItemFactory(shop=shop_a, title=f"{name} {number}", category_path=category, brand=f"{brand} {number % 2}")
            )
    buyer = ShopperFactory(shop=shop_a)
    for rank, item in enumerate(items):
        for copy in range(len(items) - rank):
            record(buyer, item, EventType.PURCHASE, minutes_ago=60 * 24 * 20 + copy)
    embed_by_category(items)
    return shop_a


def _only_rail(shop, kind=RailKind.FOR_YOU, **fields):
    defaults = dict(size=6, diversity=0.0, exploration_share=0.0)
    return rail_create(shop=shop, key="only", title="Only", kind=kind, **{**defaults, **fields})


def test_a_shop_without_rails_gets_the_default_page_once(shop_a):
    homepage_compose(shop=shop_a, shopper=None)
    default_rails_ensure(shop=shop_a)

    keys = list(Rail.objects.filter(shop=shop_a).order_by("position").values_list("key", flat=True))
    assert keys == [spec["key"] for spec in DEFAULT_RAILS]


def test_the_migration_seeds_the_default_page_of_existing_shops(shop_a, shop_b):
    rail_create(shop=shop_b, key="mine", title="Mine", kind=RailKind.TRENDING)
    seed = import_module("merchandising.migrations.0004_default_rails").seed_default_rails

    seed(apps, None)
    seed(apps, None)

    assert Rail.objects.filter(shop=shop_a).count() == len(DEFAULT_RAILS)
    assert list(Rail.objects.filter(shop=shop_b).values_list("key", flat=True)) == ["mine"]  # a page of its own is kept


def test_more_diversity_gives_more_distinct_categories(ranked_shop):
    rail = _only_rail(ranked_shop)

    focused = homepage_compose(shop=ranked_shop, shopper=None).rails[0].items
    rail_update(rail=rail, diversity=1.0)
    diverse = homepage_compose(shop=ranked_shop, shopper=None).rails[0].items

    def categories(items):
        return {entry.item.category_path for entry in items}

    assert len(categories(diverse)) > len(categories(focused))
    assert len(categories(diverse)) == 3
    assert focused[0].item.title == "Lips 0"  # λ = 0: pure relevance


def test_category_and_brand_caps_hold(ranked_shop):
    _only_rail(ranked_shop, size=12, max_per_category=3, max_per_brand=1)

    items = homepage_compose(shop=ranked_shop, shopper=None).rails[0].items

    assert max(Counter(entry.item.category_path for entry in items).values()) <= 3
    assert max(Counter(entry.item.brand for entry in items).values()) <= 1
    assert len(items) == 6  # two brands a category, one item each


def test_items_without_a_brand_share_no_brand_cap(ranked_shop):
    Item.objects.filter(shop=ranked_shop, category_path="Makeup > Lips").update(brand="")
    _only_rail(ranked_shop, size=12, max_per_brand=1)

    items = homepage_compose(shop=ranked_shop, shopper=None).rails[0].items

    assert sum(entry.item.brand == "" for entry in items) == 4  # every unbranded lip item
    assert len(items) == 8  # and one item of each of the four other brands


def test_the_exploration_share_holds_and_goes_to_rarely_shown_items(ranked_shop):
    _only_rail(ranked_shop, size=10, exploration_share=0.2)
    Item.objects.filter(shop=ranked_shop).update(created_at=timezone.now() - timedelta(days=90))
    viewer = ShopperFactory(shop=ranked_shop)
    rarely_shown = {"Fragrance 2", "Fragrance 3", "Face 3"}
    impressions = [
        Event(shop=ranked_shop, shopper=viewer, item=item, type=EventType.IMPRESSION, event_id=f"imp-{item.pk}-{n}",
              occurred_at=timezone.now() - timedelta(days=1))
        for item in Item.objects.filter(shop=ranked_shop).exclude(title__in=rarely_shown)
        for n in range(25)
    ]
    Event.objects.bulk_create(impressions)

    page = homepage_compose(shop=ranked_shop, shopper=None, debug=True)
    items = page.rails[0].items
    explored = [entry for entry in items if entry.explanation["exploration"]]

    assert len(items) == 10
    assert len(explored) == 2
    assert {entry.item.title for entry in explored} <= rarely_shown
    assert items[0].explanation["exploration"] is False  # the best match leads the rail
    again = homepage_compose(shop=ranked_shop, shopper=None).rails[0].items
    assert [entry.item.pk for entry in again] == [entry.item.pk for entry in items]


def test_boosts_lift_and_buries_sink(ranked_shop):
    _only_rail(ranked_shop, size=4)
    adjustment_create(shop=ranked_shop, target="category", category="Fragrance", multiplier=50.0)
    adjustment_create(shop=ranked_shop, target="item", item=Item.objects.get(title="Lips 0"), multiplier=0.01)

    page = homepage_compose(shop=ranked_shop, shopper=None, debug=True)
    titles = [entry.item.title for entry in page.rails[0].items]

    assert titles[0].startswith("Fragrance")
    assert "Lips 0" not in titles
    assert any("Boost ×50 category Fragrance" in rule for rule in page.rails[0].items[0].explanation["rules"])


def test_no_item_appears_twice_on_a_trained_page(pattern_shop, train):
    train(pattern_shop, Family.POPULARITY, Family.MF)
    shopper = ShopperFactory(shop=pattern_shop)
    record(shopper, Item.objects.get(shop=pattern_shop, title="Vitamin C serum"), EventType.ADD_TO_CART)

    page = homepage_compose(shop=pattern_shop, shopper=shopper, debug=True)
    pks = [entry.item.pk for entry in _items(page)]

    assert len(pks) == len(set(pks))
    assert [rail.key for rail in page.rails][:2] == ["for-you", "because-you-viewed"]
    for_you = _rail(page, "for-you")
    assert any(Family.MF in entry.explanation["families"] for entry in for_you.items)


def test_a_disliked_item_never_returns(pattern_shop):
    shopper = ShopperFactory(shop=pattern_shop)
    lipstick = Item.objects.get(shop=pattern_shop, title="Red matte lipstick")
    record(shopper, Item.objects.get(shop=pattern_shop, title="Rose lip gloss"), EventType.VIEW, minutes_ago=5)
    assert lipstick.pk in [entry.item.pk for entry in _items(homepage_compose(shop=pattern_shop, shopper=shopper))]

    record(shopper, lipstick, EventType.VIEW, minutes_ago=2)
    record(shopper, lipstick, EventType.DISLIKE, minutes_ago=1)
    page = homepage_compose(shop=pattern_shop, shopper=shopper)

    assert lipstick.pk not in [entry.item.pk for entry in _items(page)]  # not even in recently viewed
    assert _rail(page, "recently-viewed") is not None


def test_recently_bought_items_are_left_out_and_recently_viewed_are_shown_back(pattern_shop):
    shopper = ShopperFactory(shop=pattern_shop)
    cream = Item.objects.get(shop=pattern_shop, title="Hydrating face cream")
    serum = Item.objects.get(shop=pattern_shop, title="Vitamin C serum")
    record(shopper, cream, EventType.PURCHASE, minutes_ago=10)
    record(shopper, serum, EventType.VIEW, minutes_ago=5)

    page = homepage_compose(shop=pattern_shop, shopper=shopper)

    assert cream.pk not in [entry.item.pk for entry in _items(page)]
    assert [entry.item.pk for entry in _rail(page, "recently-viewed").items] == [serum.pk]


def test_explanations_name_the_seed_item(served):
    shopper = ShopperFactory(shop=served)
    record(shopper, Item.objects.get(shop=served, title="Amber perfume"), EventType.VIEW, minutes_ago=30)
    record(shopper, Item.objects.get(shop=served, title="Red matte lipstick"), EventType.CLICK, minutes_ago=1)

    page = homepage_compose(shop=served, shopper=shopper)
    rail = _rail(page, "because-you-viewed")

    assert rail.title == "Because you viewed Red matte lipstick"
    assert {entry.reason for entry in rail.items} == {"Because you viewed Red matte lipstick"}
    assert rail.items[0].item.category_path == "Makeup > Lips"


def test_the_cart_brings_items_bought_with_it(pattern_shop):
    lipstick, cream = (Item.objects.get(shop=pattern_shop, title=title) for title in ["Red matte lipstick", "Night repair cream"])
    for number in range(3):
        other = ShopperFactory(shop=pattern_shop)
        record(other, lipstick, EventType.PURCHASE, minutes_ago=100)
        record(other, cream, EventType.PURCHASE, minutes_ago=99)
    shopper = ShopperFactory(shop=pattern_shop)
    record(shopper, lipstick, EventType.ADD_TO_CART, minutes_ago=1)

    rail = _rail(homepage_compose(shop=pattern_shop, shopper=shopper, rail_keys=["complements"]), "complements")

    # The planted pattern: lip buyers buy more lip items; the three shoppers above add the cream.
    assert rail.items[0].item.category_path == "Makeup > Lips"
    assert cream in [entry.item for entry in rail.items]
    assert {entry.reason for entry in rail.items} == {"Goes with Red matte lipstick in your cart"}
    record(shopper, lipstick, EventType.PURCHASE)
    assert homepage_compose(shop=pattern_shop, shopper=shopper, rail_keys=["complements"]).rails == []


def test_a_top_category_rail_follows_the_shoppers_interest(served):
    shopper = ShopperFactory(shop=served)
    for minutes, title in enumerate(["Vitamin C serum", "Clay face mask", "Amber perfume"]):
        record(shopper, Item.objects.get(shop=served, title=title), EventType.VIEW, minutes_ago=10 - minutes)

    rail = _rail(homepage_compose(shop=served, shopper=shopper, rail_keys=["top-in-category"]), "top-in-category")

    assert rail.title == "Top picks in Skin Care"
    assert {entry.item.top_category for entry in rail.items} == {"Skin Care"}
    assert rail.items[0].reason == "Popular in Skin Care"


def test_a_page_needs_no_trained_model_nor_any_event(shop_a):
    ItemFactory.create_batch(5, shop=shop_a)

    page = homepage_compose(shop=shop_a, shopper=None)

    assert page.rails[0].key == "for-you"
    assert len({entry.item.pk for entry in _items(page)}) == 5


def test_recommendations_are_the_for_you_ranking(served):
    shopper = ShopperFactory(shop=served)
    record(shopper, Item.objects.get(shop=served, title="Rose lip gloss"), EventType.VIEW)

    page, rail = recommendations_compose(shop=served, shopper=shopper, k=8)
    homepage = homepage_compose(shop=served, shopper=shopper, rail_keys=["for-you"], size=8)

    assert rail.key == "for-you"
    assert [entry.item.pk for entry in page.rails[0].items] == [entry.item.pk for entry in homepage.rails[0].items]
    assert len(page.rails[0].items) == 8
