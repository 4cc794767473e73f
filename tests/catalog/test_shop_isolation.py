import pytest

from catalog.models import Event, Item, Shopper
from tests.factories import EventFactory, ItemFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def test_a_key_of_one_shop_cannot_see_another_shops_item(shop_b, storefront_a):
    ItemFactory(shop=shop_b, external_id="b-only")
    response = storefront_a.get("/api/v1/items/b-only")
    assert response.status_code == 404


def test_events_cannot_name_another_shops_items(shop_a, shop_b, storefront_a):
    ItemFactory(shop=shop_b, external_id="b-only")
    event = {"event_id": "e1", "shopper_id": "s1", "item_id": "b-only", "type": "view", "occurred_at": "2026-11-20T10:00:00Z"}

    body = storefront_a.post("/api/v1/events", [event], format="json").json()

    assert body["rejected"][0]["errors"]["item_id"].startswith("Unknown item")
    assert not Event.objects.exists()


def test_the_same_ids_live_apart_in_two_shops(shop_a, shop_b, storefront_a, storefront_b):
    for storefront, title in ((storefront_a, "A's lipstick"), (storefront_b, "B's lipstick")):
        storefront.post("/api/v1/items", [{"item_id": "sku-1", "title": title}], format="json")
        event = {"event_id": "e1", "shopper_id": "s1", "item_id": "sku-1", "type": "view", "occurred_at": "2026-11-20T10:00:00Z"}
        assert storefront.post("/api/v1/events", [event], format="json").json()["created"] == 1

    assert Item.objects.get(shop=shop_a, external_id="sku-1").title == "A's lipstick"
    assert Item.objects.get(shop=shop_b, external_id="sku-1").title == "B's lipstick"
    assert Event.objects.filter(event_id="e1").count() == 2


def test_a_key_of_one_shop_cannot_erase_another_shops_shopper(shop_b, storefront_a):
    shopper = ShopperFactory(shop=shop_b, external_id="s1")
    EventFactory(shopper=shopper)

    assert storefront_a.delete("/api/v1/shoppers/s1").status_code == 404
    assert Shopper.objects.filter(shop=shop_b, external_id="s1").exists()
    assert Event.objects.filter(shop=shop_b).count() == 1
