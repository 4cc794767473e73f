import pytest

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
HOSTILE_EVENTS = [
    {"event_id": NUL, "shopper_id": "s", "item_id": "i", "type": "view", "occurred_at": "2026-11-20T10:00:00Z"},
    {"event_id": "e", "shopper_id": "s", "item_id": "i", "type": "view", "occurred_at": "2026-11-20T10:00:00Z", "context": {"k": NUL}},
    {"event_id": "e", "shopper_id": ["list"], "item_id": {"o": 1}, "type": None, "occurred_at": 12},
    {"event_id": "e" * 5000, "shopper_id": True, "type": "view", "occurred_at": "9999-99-99"},
    {"event_id": "e", "shopper_id": "s", "item_id": "i", "type": "rating", "occurred_at": "2026-11-20T10:00:00Z", "value": "1e400"},
    {"event_id": "e", "shopper_id": "s", "type": "search", "occurred_at": "2026-11-20T10:00:00+25:00", "query": "x"},
]
HOSTILE_ITEMS = [
    {"item_id": "i", "title": NUL},
    {"item_id": "i", "title": "t", "attributes": {"nested": [{"deep": NUL}]}},
    {"item_id": "i", "title": "t", "price": "NaN"},
    {"item_id": "i", "title": "t", "price": "1e999"},
    {"item_id": "i", "title": "t", "available": "yes", "currency": "€€€"},
    {"item_id": 10**40, "title": ["t"]},
]


@pytest.mark.parametrize("event", HOSTILE_EVENTS)
def test_a_hostile_event_is_rejected_with_a_reason_never_a_500(storefront_a, event):
    response = storefront_a.post("/api/v1/events", [event], format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 0 and body["rejected"][0]["errors"]


@pytest.mark.parametrize("item", HOSTILE_ITEMS)
def test_a_hostile_item_is_rejected_with_a_reason_never_a_500(storefront_a, item):
    response = storefront_a.post("/api/v1/items", [item], format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 0 and body["rejected"][0]["errors"]


@pytest.mark.parametrize("path", ["/api/v1/items/%00", "/api/v1/shoppers/%00"])
def test_nul_in_a_path_is_a_clean_404(storefront_a, path):
    response = storefront_a.get(path) if "items" in path else storefront_a.delete(path)
    assert response.status_code == 404


def test_non_finite_json_numbers_are_a_parse_error(storefront_a):
    body = '[{"event_id": "e", "shopper_id": "s", "item_id": "i", "type": "rating", "occurred_at": "2026-11-20T10:00:00Z", "value": Infinity}]'
    response = storefront_a.generic("POST", "/api/v1/events", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
