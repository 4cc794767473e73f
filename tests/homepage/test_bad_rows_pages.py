"""The homepage, recommendations and precompute survive events written around the API with times out of the window."""

import pytest
from django.utils import timezone

from catalog.models import EventType, Item
from homepage.selectors import popularity_from_counts
from homepage.services import homepages_precompute, shoppers_recently_active
from merchandising.selectors import shopper_events_recent
from recommender.models import Family
from tests.catalog.bad_rows import OUT_OF_WINDOW, event_plant
from tests.factories import ShopperFactory
from tests.homepage.helpers import record

pytestmark = pytest.mark.django_db


def _shopper_with_bad_rows(shop):
    """A shopper who viewed the face mask now, and the perfume at every time out of the window."""
    shopper = ShopperFactory(shop=shop, external_id="haunted")
    record(shopper, Item.objects.get(shop=shop, title="Clay face mask"))
    perfume = Item.objects.get(shop=shop, title="Amber perfume")
    for occurred_at in OUT_OF_WINDOW:
        event_plant(shopper=shopper, item=perfume, occurred_at=occurred_at, kind=EventType.VIEW)
    return shopper


def _rail(page, key):
    return next(rail for rail in page["rails"] if rail["key"] == key)


def test_the_page_is_built_from_the_plausible_events_alone(served, storefront_a):
    _shopper_with_bad_rows(served)

    response = storefront_a.get("/api/v1/homepage/haunted")

    assert response.status_code == 200, response.content[:500]
    page = response.json()
    assert page["shopper"] == {"known": True, "personalized": True}
    # A view dated in year 9999 is not the shopper's latest: the mask, viewed now, is.
    assert _rail(page, "because-you-viewed")["title"] == "Because you viewed Clay face mask"
    mask = Item.objects.get(shop=served, title="Clay face mask")
    assert [item["item_id"] for item in _rail(page, "recently-viewed")["items"]] == [mask.external_id]


def test_the_page_and_recommendations_answer_with_trained_models(served, storefront_a, train):
    _shopper_with_bad_rows(served)
    train(served, Family.POPULARITY, Family.MF, Family.SEQUENTIAL)

    page = storefront_a.get("/api/v1/homepage/haunted")
    recommendations = storefront_a.get("/api/v1/recommendations/haunted", {"k": 5})

    assert page.status_code == 200, page.content[:500]
    assert page.json()["shopper"]["personalized"] is True
    assert recommendations.status_code == 200, recommendations.content[:500]
    assert len(recommendations.json()["items"]) == 5


def test_precompute_caches_the_page_and_a_future_event_makes_no_one_recently_active(served):
    haunted = _shopper_with_bad_rows(served)
    only_future = ShopperFactory(shop=served)
    event_plant(shopper=only_future, item=Item.objects.filter(shop=served).first(), occurred_at="9999-06-01 00:00:00+00")

    assert homepages_precompute(shop=served, days=1, limit=10) == 1
    assert shoppers_recently_active(shop=served, days=1, limit=10) == [haunted]


def test_far_future_purchases_make_no_item_popular(served):
    unloved = Item.objects.create(shop=served, external_id="unloved", title="Unloved soap", content_hash="x")
    shopper = ShopperFactory(shop=served)
    for _ in range(20):
        event_plant(shopper=shopper, item=unloved, occurred_at="9999-06-01 00:00:00+00")

    popular = popularity_from_counts(shop=served, now=timezone.now())

    assert unloved.pk not in [pk for pk, _ in popular]


def test_the_console_lists_a_shoppers_plausible_events(served):
    shopper = _shopper_with_bad_rows(served)

    events = list(shopper_events_recent(shopper=shopper))

    assert [event.item.title for event in events] == ["Clay face mask"]
