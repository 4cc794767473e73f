from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Event, Shopper
from catalog.selectors import RAIL_TABLE
from merchandising.models import Rail
from merchandising.services import default_rails_ensure
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

NOW = "2026-11-20T10:00:00Z"


def event(event_id="e1", **fields):
    return {"event_id": event_id, "shopper_id": "s1", "item_id": "sku-1", "type": "view", "occurred_at": NOW, **fields}


@pytest.fixture
def lipstick(shop_a):
    return ItemFactory(shop=shop_a, external_id="sku-1")


def test_an_event_is_stored_and_its_shopper_created(shop_a, storefront_a, lipstick):
    context = {"request_id": "r-1", "rail": "for-you", "slot": 3}
    response = storefront_a.post("/api/v1/events", [event(type="click", session_id="sess", context=context)], format="json")

    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "created": 1, "duplicates": 0, "rejected": []}
    stored = Event.objects.get(shop=shop_a, event_id="e1")
    assert stored.shopper.external_id == "s1"
    assert stored.item == lipstick
    assert stored.context == context
    assert stored.occurred_at.isoformat() == "2026-11-20T10:00:00+00:00"


def test_a_resent_event_is_stored_once(shop_a, storefront_a, lipstick):
    storefront_a.post("/api/v1/events", [event()], format="json")
    body = storefront_a.post("/api/v1/events", [event(), event("e2")], format="json").json()

    assert body == {"accepted": 2, "created": 1, "duplicates": 1, "rejected": []}
    assert Event.objects.filter(shop=shop_a).count() == 2


def test_an_event_a_concurrent_resend_stored_first_is_counted_a_duplicate(shop_a, storefront_a, lipstick, monkeypatch):
    storefront_a.post("/api/v1/events", [event()], format="json")
    # The resend's check for stored ids ran before the first send committed: it saw none.
    monkeypatch.setattr("catalog.services.selectors.event_ids_stored", lambda **kwargs: set())

    body = storefront_a.post("/api/v1/events", [event(), event("e2")], format="json").json()

    assert body == {"accepted": 2, "created": 1, "duplicates": 1, "rejected": []}
    assert Event.objects.filter(shop=shop_a).count() == 2


def test_the_same_event_twice_in_one_batch_is_stored_once(shop_a, storefront_a, lipstick):
    body = storefront_a.post("/api/v1/events", [event(), event()], format="json").json()
    assert (body["created"], body["duplicates"]) == (1, 1)


def test_valid_events_are_kept_when_others_fail(shop_a, storefront_a, lipstick):
    future = (timezone.now() + timedelta(days=3)).isoformat()
    batch = [
        event("ok"),
        event("bad-type", type="wishlist"),
        event("unknown-item", item_id="nope"),
        event("bad-time", occurred_at="yesterday"),
        event("future", occurred_at=future),
        {"shopper_id": "s1", "type": "view", "occurred_at": NOW, "item_id": "sku-1"},
        event("bad-value", value="five"),
        7,
    ]
    body = storefront_a.post("/api/v1/events", batch, format="json").json()

    assert (body["accepted"], body["created"]) == (1, 1)
    errors = {entry["index"]: entry["errors"] for entry in body["rejected"]}
    assert set(errors) == {1, 2, 3, 4, 5, 6, 7}
    assert "type" in errors[1]
    assert errors[2]["item_id"] == "Unknown item 'nope': send it to POST /api/v1/items first."
    assert "ISO 8601" in errors[3]["occurred_at"]
    assert "future" in errors[4]["occurred_at"]
    assert errors[5] == {"event_id": "This field is required."}
    assert "value" in errors[6]
    assert errors[7] == {"event": "Each event must be a JSON object."}
    assert list(Event.objects.values_list("event_id", flat=True)) == ["ok"]


def test_a_search_needs_a_query_but_no_item(shop_a, storefront_a):
    search = {"event_id": "q1", "shopper_id": "s1", "type": "search", "occurred_at": NOW, "query": "red lipstick"}
    body = storefront_a.post("/api/v1/events", [search, {**search, "event_id": "q2", "query": ""}], format="json").json()

    assert body["created"] == 1
    assert body["rejected"][0]["errors"] == {"query": "Must not be blank."}
    assert Event.objects.get(event_id="q1").item is None


def test_a_timestamp_without_offset_is_taken_as_utc(storefront_a, lipstick):
    storefront_a.post("/api/v1/events", [event(occurred_at="2026-11-20T10:00:00")], format="json")
    assert Event.objects.get().occurred_at.isoformat() == "2026-11-20T10:00:00+00:00"


def test_erasing_a_shopper_removes_all_their_events(shop_a, storefront_a, lipstick):
    storefront_a.post("/api/v1/events", [event("e1"), event("e2"), event("e3", shopper_id="s2")], format="json")

    response = storefront_a.delete("/api/v1/shoppers/s1")

    assert response.status_code == 204
    assert not Shopper.objects.filter(shop=shop_a, external_id="s1").exists()
    assert list(Event.objects.values_list("event_id", flat=True)) == ["e3"]
    assert storefront_a.delete("/api/v1/shoppers/s1").status_code == 404


def test_an_event_from_a_rail_the_shop_lacks_is_rejected_naming_the_shops_rails(shop_a, storefront_a, lipstick):
    default_rails_ensure(shop=shop_a)
    Rail.objects.filter(shop=shop_a, key="trending").update(enabled=False)  # a page served before still counts
    batch = [
        event("snake", type="click", context={"rail": "for_you", "slot": 1}),
        event("number", type="click", context={"rail": 7}),
        event("disabled", type="click", context={"rail": "trending"}),
        event("no-rail", type="click", context={"request_id": "r-1"}),
    ]
    body = storefront_a.post("/api/v1/events", batch, format="json").json()

    keys = ", ".join(sorted(Rail.objects.filter(shop=shop_a).values_list("key", flat=True)))
    assert {rejected["id"]: rejected["errors"] for rejected in body["rejected"]} == {
        "snake": {"context.rail": f"Unknown rail 'for_you': send back a rails[].key of the homepage answer. This shop's rails: {keys}."},
        "number": {"context.rail": "Must be a rail key, a string: the homepage answer's rails[].key."},
    }
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["disabled", "no-rail"]


def test_another_shops_rails_do_not_count_and_a_shop_without_rails_holds_none_to_them(shop_a, shop_b, storefront_a, lipstick):
    default_rails_ensure(shop=shop_b)
    Rail.objects.create(shop=shop_b, key="summer", title="Summer", kind="trending")
    assert storefront_a.post("/api/v1/events", [event("before", type="click", context={"rail": "summer"})], format="json").json()["created"] == 1
    default_rails_ensure(shop=shop_a)
    body = storefront_a.post("/api/v1/events", [event("after", type="click", context={"rail": "summer"})], format="json").json()
    assert body["rejected"][0]["errors"]["context.rail"].startswith("Unknown rail 'summer'")
    assert RAIL_TABLE == Rail._meta.db_table
