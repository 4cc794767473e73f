"""The rail seeded by the shopper's latest item says what they did with it: viewed, bought, rated, searched."""

import pytest
from django.utils import timezone

from catalog.models import Item
from merchandising.models import Rail
from merchandising.services import default_rails_ensure, rail_update

pytestmark = pytest.mark.django_db


def _seed_rail(storefront, shopper_id: str) -> dict:
    response = storefront.get(f"/api/v1/homepage/{shopper_id}")
    assert response.status_code == 200, response.json()
    return next(rail for rail in response.json()["rails"] if rail["key"] == "because-you-viewed")


def _send(storefront, shopper_id: str, item: Item, kind: str, **fields) -> None:
    event = {"event_id": f"{shopper_id}-{kind}-{item.external_id}", "shopper_id": shopper_id, "item_id": item.external_id, "type": kind,
             "occurred_at": timezone.now().isoformat(), **fields}
    response = storefront.post("/api/v1/events", [event], format="json")
    assert response.json()["created"] == 1, response.json()


@pytest.mark.parametrize(
    ("kind", "fields", "wording"),
    [
        ("view", {}, "Because you viewed Amber perfume"),
        ("click", {}, "Because you viewed Amber perfume"),
        ("add_to_cart", {}, "Because you added Amber perfume to your cart"),
        ("purchase", {}, "Because you bought Amber perfume"),
        ("rating", {"value": 5}, "Because you rated Amber perfume"),
        ("search", {"query": "amber"}, "Because you searched for Amber perfume"),
    ],
)
def test_the_seed_rail_names_what_the_shopper_did_with_the_seed(served, storefront_a, kind, fields, wording):
    perfume = Item.objects.get(shop=served, title="Amber perfume")
    _send(storefront_a, "acting", perfume, kind, **fields)

    rail = _seed_rail(storefront_a, "acting")

    assert rail["title"] == wording
    assert {item["reason"] for item in rail["items"]} == {wording}
    shown = [item["item_id"] for item in rail["items"]]
    assert shown and perfume.external_id not in shown  # the seed itself, even a searched one, is not offered again


def test_the_latest_action_words_the_rail_and_a_title_the_merchandiser_wrote_is_kept(served, storefront_a):
    default_rails_ensure(shop=served)
    _send(storefront_a, "buyer", Item.objects.get(shop=served, title="Amber perfume"), "purchase")
    assert "viewed" not in _seed_rail(storefront_a, "buyer")["title"]
    _send(storefront_a, "buyer", Item.objects.get(shop=served, title="Vitamin C serum"), "view")
    assert _seed_rail(storefront_a, "buyer")["title"] == "Because you viewed Vitamin C serum"

    rail_update(rail=Rail.objects.get(shop=served, key="because-you-viewed"), title="More like {seed}")
    _send(storefront_a, "buyer", Item.objects.get(shop=served, title="Clay face mask"), "purchase")

    rail = _seed_rail(storefront_a, "buyer")
    assert rail["title"] == "More like Clay face mask"
    assert {item["reason"] for item in rail["items"]} == {"Because you bought Clay face mask"}
