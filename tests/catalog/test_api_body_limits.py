import json

import pytest
from django.conf import settings

from catalog.models import Item
from catalog.validation import ID_MAX_LENGTH, ITEM_TEXT_MAX, MAX_JSON_BYTES

pytestmark = pytest.mark.django_db


def post_raw(client, path: str, body: str):
    return client.generic("POST", path, body, content_type="application/json")


def longest_item(number: int) -> dict:
    """An item at every field's longest, in plain ASCII."""
    attributes = {"notes": ""}
    attributes["notes"] = "n" * (MAX_JSON_BYTES - len(json.dumps(attributes, separators=(",", ":"))))
    url = "https://cdn.example.com/"
    return {
        "item_id": f"{number:0{ID_MAX_LENGTH}d}",
        "title": "t" * ITEM_TEXT_MAX["title"],
        "description": "d" * ITEM_TEXT_MAX["description"],
        "category": "c" * ITEM_TEXT_MAX["category"],
        "brand": "b" * ITEM_TEXT_MAX["brand"],
        "price": 9999999999.99,
        "currency": "EUR",
        "image_url": url + "i" * (ITEM_TEXT_MAX["image_url"] - len(url)),
        "available": True,
        "attributes": attributes,
    }


def test_a_full_batch_of_long_items_is_accepted(shop_a, storefront_a):
    batch = [{"item_id": f"sku-{n}", "title": "Lipstick", "description": "Long-lasting. " * 210} for n in range(1000)]
    body = json.dumps(batch)
    assert len(body) > 2.5 * 2**20  # past Django's default limit

    response = post_raw(storefront_a, "/api/v1/items", body)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1000
    assert Item.objects.filter(shop=shop_a).count() == 1000


def test_the_body_limit_holds_a_batch_of_items_at_every_maximum(shop_a, storefront_a):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.VITRINE_MAX_BODY_BYTES
    body = json.dumps([longest_item(n) for n in range(settings.VITRINE_MAX_BATCH)])  # about 40 MB

    response = post_raw(storefront_a, "/api/v1/items", body)

    assert response.status_code == 200
    assert (response.json()["accepted"], response.json()["rejected"]) == (settings.VITRINE_MAX_BATCH, [])
    assert Item.objects.filter(shop=shop_a).count() == settings.VITRINE_MAX_BATCH


def test_a_body_over_the_limit_is_a_json_413_naming_the_limit(settings, shop_a, storefront_a):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps([{"item_id": f"sku-{n}", "title": "Lipstick"} for n in range(500)])

    response = post_raw(storefront_a, "/api/v1/events", body)

    assert response.status_code == 413
    assert response.json() == {"error": {
        "code": "payload_too_large",
        "message": "The request body is larger than 10,000 bytes, the most Vitrine reads; send fewer records a request.",
        "details": {"max_body_bytes": 10_000},
    }}
    assert not Item.objects.exists()
