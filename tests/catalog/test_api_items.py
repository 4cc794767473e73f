import pytest

from catalog.models import Item

pytestmark = pytest.mark.django_db

LIPSTICK = {
    "item_id": "sku-1",
    "title": "Matte Lipstick",
    "description": "Long-lasting.",
    "category": "Makeup>Lips > Lipstick",
    "brand": "Acme",
    "price": 12.5,
    "currency": "eur",
    "image_url": "https://cdn.example.com/sku-1.jpg",
    "available": True,
    "attributes": {"shade": "red"},
}


def test_items_are_created_with_every_field(shop_a, storefront_a):
    response = storefront_a.post("/api/v1/items", [LIPSTICK], format="json")

    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "created": 1, "updated": 0, "unchanged": 0, "rejected": []}
    item = Item.objects.get(shop=shop_a, external_id="sku-1")
    assert item.category_path == "Makeup > Lips > Lipstick"
    assert item.categories == ["Makeup", "Lips", "Lipstick"]
    assert item.currency == "EUR"
    assert str(item.price) == "12.50"
    assert item.attributes == {"shade": "red"}


def test_resending_an_item_updates_it_only_when_it_changed(shop_a, storefront_a):
    storefront_a.post("/api/v1/items", [LIPSTICK], format="json")
    same = storefront_a.post("/api/v1/items", [LIPSTICK], format="json").json()
    changed = storefront_a.post("/api/v1/items", [{**LIPSTICK, "available": False}], format="json").json()

    assert (same["unchanged"], same["updated"]) == (1, 0)
    assert (changed["unchanged"], changed["updated"]) == (0, 1)
    assert Item.objects.filter(shop=shop_a).count() == 1
    assert Item.objects.get(shop=shop_a).available is False


def test_invalid_items_are_listed_by_index_and_valid_ones_kept(shop_a, storefront_a):
    batch = [
        {"item_id": "ok", "title": "Mascara"},
        {"item_id": "no-title"},
        {"item_id": "bad", "title": "Gloss", "price": -1, "image_url": "ftp://x", "colour": "red"},
        "not an object",
    ]
    body = storefront_a.post("/api/v1/items", batch, format="json").json()

    assert body["accepted"] == 1
    rejected = {entry["index"]: entry for entry in body["rejected"]}
    assert set(rejected) == {1, 2, 3}
    assert rejected[1]["errors"] == {"title": "This field is required."}
    assert set(rejected[2]["errors"]) == {"price", "image_url", "colour"}
    assert rejected[2]["id"] == "bad"
    assert list(Item.objects.filter(shop=shop_a).values_list("external_id", flat=True)) == ["ok"]


def test_the_same_item_twice_in_a_batch_keeps_the_last_copy(shop_a, storefront_a):
    batch = [{"item_id": "x", "title": "First"}, {"item_id": "x", "title": "Second"}]
    storefront_a.post("/api/v1/items", batch, format="json")
    assert Item.objects.get(shop=shop_a, external_id="x").title == "Second"


@pytest.mark.parametrize(
    ("body", "code"),
    [({"item_id": "x"}, "not_a_list"), ([], "empty_batch"), ([{"item_id": i, "title": "t"} for i in range(1001)], "batch_too_large")],
)
def test_a_malformed_batch_is_refused_whole(shop_a, storefront_a, body, code):
    response = storefront_a.post("/api/v1/items", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Item.objects.exists()


def test_invalid_json_is_a_clear_400(storefront_a):
    response = storefront_a.generic("POST", "/api/v1/items", "[{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_an_item_is_read_back_in_the_storefront_shape(storefront_a):
    storefront_a.post("/api/v1/items", [LIPSTICK], format="json")
    body = storefront_a.get("/api/v1/items/sku-1").json()
    assert body["item_id"] == "sku-1"
    assert body["category"] == "Makeup > Lips > Lipstick"
    assert body["price"] == "12.50"
