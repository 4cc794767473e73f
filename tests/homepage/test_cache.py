import pytest
from django.core.cache import cache as django_cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import EventType, Item
from homepage import cache as page_cache
from merchandising.models import Rail
from merchandising.services import block_create, rail_update
from recommender.models import Family
from tests.factories import ShopperFactory
from tests.homepage.helpers import record

pytestmark = pytest.mark.django_db


def _get(client, shopper_id, **params):
    response = client.get(f"/api/v1/homepage/{shopper_id}", params)
    assert response.status_code == 200
    return response.json()


def _layout(page):
    return [(rail["key"], rail["title"], [item["item_id"] for item in rail["items"]]) for rail in page["rails"]]


def test_a_repeated_request_is_served_from_the_cache_with_a_new_request_id(served, storefront_a):
    shopper = ShopperFactory(shop=served)
    record(shopper, Item.objects.get(shop=served, title="Clay face mask"))
    _get(storefront_a, shopper.external_id)  # the shop's first page also seeds its default rails, a rule change
    first = _get(storefront_a, shopper.external_id)

    with CaptureQueriesContext(connection) as queries:
        second = _get(storefront_a, shopper.external_id)

    assert _layout(second) == _layout(first)
    assert second["request_id"] != first["request_id"]
    # The availability check alone: the API key, the shopper, the serving versions and the rules come from caches.
    assert [query["sql"].split(" FROM ")[1].split()[0].strip('"') for query in queries.captured_queries] == ["catalog_item"]


def test_a_rule_change_invalidates_the_cached_page(served, storefront_a):
    _get(storefront_a, "visitor")
    first = _get(storefront_a, "visitor")
    Rail.objects.filter(shop=served, key="for-you").update(title="Changed behind the services' back")
    assert _layout(_get(storefront_a, "visitor")) == _layout(first)  # still the cached layout

    rail_update(rail=Rail.objects.get(shop=served, key="trending"), title="Hot this week")
    after_rail = _get(storefront_a, "visitor")
    top = after_rail["rails"][0]["items"][0]["item_id"]
    block_create(shop=served, item=Item.objects.get(shop=served, external_id=top))
    after_block = _get(storefront_a, "visitor")

    assert "Hot this week" in [rail["title"] for rail in after_rail["rails"]]
    assert top not in [item["item_id"] for rail in after_block["rails"] for item in rail["items"]]


def test_an_item_out_of_stock_is_not_served_from_the_cache(served, storefront_a):
    first = _get(storefront_a, "visitor")
    top = first["rails"][0]["items"][0]["item_id"]
    Item.objects.filter(shop=served, external_id=top).update(available=False)

    assert top not in [item["item_id"] for rail in _get(storefront_a, "visitor")["rails"] for item in rail["items"]]


def test_a_new_event_of_the_shopper_invalidates_their_cached_page(served, storefront_a):
    shopper = ShopperFactory(shop=served)
    record(shopper, Item.objects.get(shop=served, title="Clay face mask"), minutes_ago=5)
    _get(storefront_a, shopper.external_id)
    first = _get(storefront_a, shopper.external_id)
    perfume = Item.objects.get(shop=served, external_id=first["rails"][0]["items"][0]["item_id"])

    response = storefront_a.post(
        "/api/v1/events",
        [{"event_id": "c-1", "shopper_id": shopper.external_id, "item_id": perfume.external_id, "type": "dislike",
          "occurred_at": "2026-01-01T00:00:00Z"}],
        format="json",
    )
    assert response.json()["created"] == 1

    page = _get(storefront_a, shopper.external_id)
    assert perfume.external_id not in [item["item_id"] for rail in page["rails"] for item in rail["items"]]


def test_an_opt_out_saved_in_the_admin_reaches_the_next_page(served, storefront_a):
    shopper = ShopperFactory(shop=served)
    record(shopper, Item.objects.get(shop=served, title="Clay face mask"))
    assert _get(storefront_a, shopper.external_id)["shopper"]["personalized"] is True

    shopper.personalization_opt_out = True
    shopper.save()

    assert _get(storefront_a, shopper.external_id)["shopper"] == {"known": True, "personalized": False}


def test_a_promoted_model_version_changes_the_cache_key(pattern_shop, train, storefront_a):
    shopper = ShopperFactory(shop=pattern_shop)
    record(shopper, Item.objects.get(shop=pattern_shop, title="Red matte lipstick"), EventType.CLICK)
    before = _get(storefront_a, shopper.external_id)

    train(pattern_shop, Family.MF)
    after = _get(storefront_a, shopper.external_id)

    for_you = next(rail for rail in after["rails"] if rail["key"] == "for-you")
    suggested = Item.objects.get(shop=pattern_shop, external_id=for_you["items"][0]["item_id"])
    assert suggested.category_path == "Makeup > Lips"  # the MF model now serves
    assert _layout(after) != _layout(before)


def test_a_page_is_composed_from_the_tokens_its_key_was_made_of_until_something_changes(shop_a):
    tokens = page_cache.page_lookup(shop=shop_a, shopper_external_id="visitor", request_shape="{}", shopper_read=lambda: None).tokens
    with page_cache.page_tokens_reused(tokens):
        django_cache.set(page_cache._shop_token_key(shop_a), "written-by-another-process")
        assert page_cache.rules_token(shop=shop_a) == tokens.rules  # the page agrees with its key

        page_cache.homepage_rules_changed(shop=shop_a)  # a change made while composing is read at once
        changed = page_cache.rules_token(shop=shop_a)
        assert changed not in (tokens.rules, "written-by-another-process")
        assert page_cache.models_token(shop=shop_a) == tokens.models

    assert page_cache.rules_token(shop=shop_a) == changed


def test_a_shopper_whose_first_event_lands_while_their_page_is_looked_up_is_read_again(shop_a):
    def read_just_before_the_event():
        page_cache.homepage_shoppers_acted(shop=shop_a, opt_outs={"newcomer": False})  # the event's ingest
        return None  # what was read: no such shopper yet

    lookup = page_cache.page_lookup(
        shop=shop_a, shopper_external_id="newcomer", request_shape="{}", shopper_read=read_just_before_the_event
    )

    assert lookup.tokens.shopper_entry["known"] is True
    assert lookup.tokens.shopper is page_cache.UNREAD  # not the stale None: the page reads the shopper again
