"""A storefront opts its shoppers out of personalization and back in, and erases them: at once, and for training."""

import hashlib
from pathlib import Path

import pytest
from django.core.cache import cache

from catalog.models import Event, Item, Shopper
from homepage.cache import shop_identity
from homepage.services import homepages_precompute
from recommender.ml.registry import load_arrays
from recommender.models import Family
from recommender.services.candidates import candidates_cache_key
from tests.factories import ShopperFactory
from tests.homepage.helpers import embed_by_category, record

pytestmark = pytest.mark.django_db


def _page(client, shopper_id) -> dict:
    response = client.get(f"/api/v1/homepage/{shopper_id}")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def _opt(client, shopper_id, opted_out):
    return client.put(f"/api/v1/shoppers/{shopper_id}/personalization", {"opted_out": opted_out}, format="json")


def _cached_pages(shop, shopper_id) -> list:
    hashed = hashlib.sha1(shopper_id.encode()).hexdigest()
    pattern = cache.make_key(f"homepage:page:*:{shop_identity(shop)}:{hashed}:*")
    return list(cache._cache.get_client().scan_iter(match=pattern))


@pytest.fixture
def served(pattern_shop):
    embed_by_category(pattern_shop.items.all())
    return pattern_shop


@pytest.fixture
def regular(served):
    """A shopper of the served shop who viewed the face mask: their page is personalized."""
    shopper = ShopperFactory(shop=served, external_id="regular")
    record(shopper, Item.objects.get(shop=served, title="Clay face mask"))
    return shopper


def test_opting_out_serves_a_page_that_is_not_personalized_at_once_and_opting_in_restores_it(regular, storefront_a):
    personal = _page(storefront_a, "regular")
    assert personal["shopper"]["personalized"] is True and _cached_pages(regular.shop, "regular")

    response = _opt(storefront_a, "regular", True)

    assert response.status_code == 200
    assert response.json() == {"shopper_id": "regular", "opted_out": True}
    assert Shopper.objects.get(pk=regular.pk).personalization_opt_out is True
    assert not _cached_pages(regular.shop, "regular")  # the page cached before is gone, not merely stale
    page = _page(storefront_a, "regular")
    assert page["shopper"] == {"known": True, "personalized": False}
    assert page["rails"] == _page(storefront_a, "someone-new")["rails"]

    assert _opt(storefront_a, "regular", False).json() == {"shopper_id": "regular", "opted_out": False}
    assert _page(storefront_a, "regular")["rails"] == personal["rails"]


def test_opting_out_deletes_the_shoppers_cached_candidates(regular, storefront_a, train):
    train(regular.shop, Family.POPULARITY, Family.MF)
    _page(storefront_a, "regular")
    assert cache.get(candidates_cache_key(regular)) is not None

    _opt(storefront_a, "regular", True)

    assert cache.get(candidates_cache_key(regular)) is None


def test_an_unknown_shopper_is_created_opted_out_and_their_first_events_keep_them_so(served, storefront_a):
    assert _opt(storefront_a, "newcomer", True).json() == {"shopper_id": "newcomer", "opted_out": True}
    mask = Item.objects.get(shop=served, title="Clay face mask")

    storefront_a.post(
        "/api/v1/events",
        [{"event_id": "n-1", "shopper_id": "newcomer", "item_id": mask.external_id, "type": "view",
          "occurred_at": Event.objects.filter(shop=served).latest("occurred_at").occurred_at.isoformat()}],
        format="json",
    )

    assert Shopper.objects.get(shop=served, external_id="newcomer").events.count() == 1
    assert _page(storefront_a, "newcomer")["shopper"] == {"known": True, "personalized": False}


@pytest.mark.parametrize(
    "body", [{"opted_out": "true"}, {"opted_out": 1}, {"opted_out": None}, {}, {"opted_out": True, "why": "gdpr"}, [True]]
)
def test_a_body_other_than_one_boolean_is_a_clear_400(shop_a, storefront_a, body):
    response = storefront_a.put("/api/v1/shoppers/s-1/personalization", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_opt_out"
    assert '{"opted_out": true}' in response.json()["error"]["message"]
    assert not Shopper.objects.filter(external_id="s-1").exists()


def test_an_id_no_event_could_carry_is_refused_for_a_new_shopper_and_accepted_for_a_stored_one(shop_a, storefront_a):
    refused = _opt(storefront_a, "ana lópez", True)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_shopper_id"
    assert not Shopper.objects.exists()

    ShopperFactory(shop=shop_a, external_id="ana lópez")  # stored before ids were checked
    assert _opt(storefront_a, "ana lópez", True).json()["opted_out"] is True


def test_a_key_opts_out_shoppers_of_its_own_shop_only(shop_a, storefront_b):
    shopper = ShopperFactory(shop=shop_a, external_id="shared-id")

    assert _opt(storefront_b, "shared-id", True).status_code == 200

    assert Shopper.objects.get(pk=shopper.pk).personalization_opt_out is False
    assert Shopper.objects.get(shop__slug="shop-b", external_id="shared-id").personalization_opt_out is True


def test_the_schema_documents_opt_out(anonymous):
    schema = anonymous.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/shoppers/{external_id}/personalization"]["put"]
    assert "opted_out" in str(operation["requestBody"])


def test_erasure_deletes_the_shoppers_cached_pages_and_candidates_at_once(regular, storefront_a, train):
    train(regular.shop, Family.POPULARITY, Family.MF)
    homepages_precompute(shop=regular.shop, days=1, limit=10)
    assert storefront_a.get("/api/v1/homepage/regular", {"size": 3}).status_code == 200  # a page of another shape
    assert len(_cached_pages(regular.shop, "regular")) == 2 and cache.get(candidates_cache_key(regular)) is not None

    assert storefront_a.delete("/api/v1/shoppers/regular").status_code == 204

    assert not _cached_pages(regular.shop, "regular")
    assert cache.get(candidates_cache_key(regular)) is None
    assert not Event.objects.filter(shopper_id=regular.pk).exists()
    assert _page(storefront_a, "regular")["shopper"] == {"known": False, "personalized": False}
    assert storefront_a.delete("/api/v1/shoppers/regular").status_code == 404


def _trained_shoppers(version) -> set[int]:
    _, arrays = load_arrays(Path(version.artifact_path) / "index")
    return set(arrays["shopper_pks"].tolist())


def test_the_next_training_learns_nothing_of_an_erased_shopper(pattern_shop, storefront_a, train):
    shopper = Shopper.objects.filter(shop=pattern_shop).order_by("pk").first()
    before, = train(pattern_shop, Family.MF)
    assert shopper.pk in _trained_shoppers(before)

    storefront_a.delete(f"/api/v1/shoppers/{shopper.external_id}")
    after, = train(pattern_shop, Family.MF)

    assert shopper.pk not in _trained_shoppers(after)
    assert after.counts == {"shoppers": 41, "items": 18, "events": 205}


def test_an_opted_out_shoppers_events_feed_no_model(pattern_shop, storefront_a, train):
    shopper = Shopper.objects.filter(shop=pattern_shop).order_by("pk").first()
    _opt(storefront_a, shopper.external_id, True)

    versions = train(pattern_shop, Family.POPULARITY, Family.MF, Family.SEQUENTIAL)

    for version in versions:
        assert shopper.pk not in _trained_shoppers(version)
        assert version.counts == {"shoppers": 41, "items": 18, "events": 205}
    assert Event.objects.filter(shopper=shopper).count() == 5  # kept: opting back in uses them again
