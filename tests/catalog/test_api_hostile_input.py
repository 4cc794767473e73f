import json
from datetime import datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone

from catalog.models import Event, Item, Shopper
from tests.factories import ItemFactory, ShopperFactory

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
NOW = "2026-11-20T10:00:00Z"
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
    {"item_id": "i", "title": "t", "price": 9999999999.995},  # would round past the column's ten digits
    {"item_id": "i", "title": "t", "price": "1e999999999"},
    {"item_id": "i", "title": "t", "currency": "ÉÛR"},
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


# Bodies below are written with json.dumps, which escapes a lone surrogate as \ud800: the bytes a storefront's
# JSON encoder sends, and ones the test client's own encoder (UTF-8) could not write.
def post_raw(client, path: str, records: list):
    return client.generic("POST", path, json.dumps(records), content_type="application/json")


def event(event_id="e1", **fields):
    return {"event_id": event_id, "shopper_id": "s1", "item_id": "sku-1", "type": "view", "occurred_at": NOW, **fields}


def nested(depth: int) -> dict:
    value = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


@pytest.fixture
def lipstick(shop_a):
    return ItemFactory(shop=shop_a, external_id="sku-1")


def rejections(body: dict) -> dict[int, dict]:
    return {entry["index"]: entry["errors"] for entry in body["rejected"]}


def test_an_event_from_year_one_is_rejected_naming_the_window(storefront_a, lipstick):
    body = storefront_a.post("/api/v1/events", [event(occurred_at="0001-01-01T00:00:00+05:00")], format="json").json()

    message = rejections(body)[0]["occurred_at"]
    assert message.startswith("Must lie between 2000-01-01T00:00:00Z and ")
    assert "clock skew" in message
    assert not Event.objects.exists()


def test_the_timestamp_window_follows_the_settings(settings, storefront_a, lipstick):
    settings.VITRINE_EVENT_EARLIEST = datetime(2026, 1, 1, tzinfo=timezone.utc)
    settings.VITRINE_MAX_CLOCK_SKEW_HOURS = 1
    soon = (django_timezone.now() + timedelta(minutes=30)).isoformat()
    later = (django_timezone.now() + timedelta(hours=2)).isoformat()
    batch = [event("old", occurred_at="2025-12-31T23:59:59Z"), event("first", occurred_at="2026-01-01T00:00:00Z"),
             event("soon", occurred_at=soon), event("later", occurred_at=later)]

    body = storefront_a.post("/api/v1/events", batch, format="json").json()

    assert set(rejections(body)) == {0, 3}
    assert "2026-01-01T00:00:00Z" in rejections(body)[0]["occurred_at"]
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["first", "soon"]


@pytest.mark.parametrize("depth", [11, 300, 900])
def test_deep_context_fails_its_event_alone(shop_a, storefront_a, lipstick, depth):
    batch = [event("ok-1"), event("deep", context=nested(depth)), event("ok-2", context=nested(10))]

    response = post_raw(storefront_a, "/api/v1/events", batch)

    assert response.status_code == 200
    assert rejections(response.json()) == {1: {"context": "Nested deeper than 10 levels (at 'next.next.next.next.next.next.next.next.next.next')."}}
    assert sorted(Event.objects.values_list("event_id", flat=True)) == ["ok-1", "ok-2"]


def test_deep_attributes_fail_their_item_alone(shop_a, storefront_a):
    batch = [{"item_id": "deep", "title": "t", "attributes": {"list": [[[[[[[[[[["x"]]]]]]]]]]]}}, {"item_id": "ok", "title": "t"}]

    body = post_raw(storefront_a, "/api/v1/items", batch).json()

    assert rejections(body) == {0: {"attributes": "Nested deeper than 10 levels (at 'list[0][0][0][0][0][0][0][0][0]')."}}
    assert list(Item.objects.values_list("external_id", flat=True)) == ["ok"]


def test_a_body_too_deep_for_the_parser_is_a_parse_error(storefront_a):
    body = '[{"event_id": "e", "context": ' + "[" * 100_000 + "]" * 100_000 + "}]"

    response = storefront_a.generic("POST", "/api/v1/events", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "parse_error", "message": "JSON parse error - nested too deeply to be read."}


def test_a_number_too_large_for_json_fails_its_record_alone(shop_a, storefront_a):
    body = '[{"item_id": "big", "title": "t", "attributes": {"size": [1, 1e400]}}, {"item_id": "ok", "title": "t"}]'

    response = storefront_a.generic("POST", "/api/v1/items", body, content_type="application/json")

    assert rejections(response.json()) == {0: {"attributes": "The value at 'size[1]' is too large a number."}}
    assert list(Item.objects.values_list("external_id", flat=True)) == ["ok"]


def test_free_form_json_over_16_kb_is_rejected(storefront_a, lipstick):
    body = storefront_a.post("/api/v1/events", [event(context={"note": "x" * 17_000}), event("ok", context={"note": "x" * 16_000})], format="json").json()

    assert rejections(body) == {0: {"context": "Is 17011 bytes as JSON; at most 16384 are stored."}}
    assert body["created"] == 1


SURROGATE_MESSAGE = "Contains an unpaired surrogate (\\ud800), which is not valid Unicode text."
NUL_MESSAGE = "Contains a NUL character (\\u0000), which PostgreSQL cannot store."


@pytest.mark.parametrize(
    ("context", "error"),
    [
        ({"rail": "for\ud800you"}, f"The value at 'rail': {SURROGATE_MESSAGE}"),
        ({"rail": "for\x00you"}, f"The value at 'rail': {NUL_MESSAGE}"),
        ({"tags": ["ok", "\udfff"]}, "The value at 'tags[1]': Contains an unpaired surrogate (\\udfff), which is not valid Unicode text."),
        ({"a": {"k\ud800": 1}}, f"The key 'a.k\\ud800': {SURROGATE_MESSAGE}"),
        ({"k\x00": 1}, f"The key 'k\x00': {NUL_MESSAGE}"),
    ],
)
def test_text_postgresql_cannot_store_fails_its_event_alone(shop_a, storefront_a, lipstick, context, error):
    response = post_raw(storefront_a, "/api/v1/events", [event("bad", context=context), event("ok")])

    assert response.status_code == 200
    assert rejections(response.json()) == {0: {"context": error}}
    assert list(Event.objects.values_list("event_id", flat=True)) == ["ok"]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"item_id": "i", "title": "t", "attributes": {"shade": "\ud800"}}, "attributes"),
        ({"item_id": "i", "title": "t", "attributes": {"\ud800": "red"}}, "attributes"),
        ({"item_id": "i", "title": "t\ud800"}, "title"),
        ({"item_id": "i", "title": "t", "brand": "\x00"}, "brand"),
        ({"item_id": "i\ud800", "title": "t"}, "item_id"),
    ],
)
def test_text_postgresql_cannot_store_fails_its_item_alone(shop_a, storefront_a, item, field):
    response = post_raw(storefront_a, "/api/v1/items", [item, {"item_id": "ok", "title": "t"}])

    assert response.status_code == 200
    errors = rejections(response.json())[0]
    assert list(errors) == [field]
    assert "unpaired surrogate" in errors[field] or "NUL" in errors[field]
    assert list(Item.objects.values_list("external_id", flat=True)) == ["ok"]


def test_a_rejected_record_is_listed_under_its_id_as_sent_escaped(storefront_a):
    response = post_raw(storefront_a, "/api/v1/items", [{"item_id": "sku\ud800", "title": "t", "colo\udc00r": "red"}])

    entry = response.json()["rejected"][0]
    assert entry["id"] == "sku\\ud800"
    assert set(entry["errors"]) == {"item_id", "colo\\udc00r"}


@pytest.mark.parametrize(
    "shopper_id", ["a/b", " s1", "s1 ", "s 1", "s" * 129, "café", "s1\n", "%2F"]
)
def test_an_id_outside_the_documented_set_is_rejected_not_trimmed(shop_a, storefront_a, lipstick, shopper_id):
    body = storefront_a.post("/api/v1/events", [event(shopper_id=shopper_id)], format="json").json()

    assert body["accepted"] == 0
    assert "shopper_id" in rejections(body)[0]
    assert not Shopper.objects.exists()


def test_ids_may_use_letters_digits_and_the_documented_punctuation(shop_a, storefront_a):
    item_id = "Sku-1_b.2:x@y" + "z" * 115  # 128 characters
    body = storefront_a.post("/api/v1/items", [{"item_id": item_id, "title": "t"}, {"item_id": 42, "title": "t"}], format="json").json()

    assert body["accepted"] == 2
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["42", item_id]


def test_an_item_id_with_a_slash_is_rejected(storefront_a):
    body = storefront_a.post("/api/v1/items", [{"item_id": "shoes/red", "title": "t"}], format="json").json()
    assert "'shoes/red' is not an id" in rejections(body)[0]["item_id"]


def test_a_shopper_stored_with_a_slash_can_still_be_erased(shop_a, storefront_a):
    ShopperFactory(shop=shop_a, external_id="legacy/42")

    assert storefront_a.delete("/api/v1/shoppers/legacy/42").status_code == 204
    assert not Shopper.objects.exists()
    assert storefront_a.delete("/api/v1/shoppers/legacy/42").status_code == 404


def test_a_type_given_as_an_object_fails_its_event_alone(storefront_a, lipstick):
    response = storefront_a.post("/api/v1/events", [event("bad", type={"a": 1}), event("ok")], format="json")

    assert response.status_code == 200
    assert list(rejections(response.json())[0]) == ["type"]
    assert list(Event.objects.values_list("event_id", flat=True)) == ["ok"]


@pytest.mark.parametrize("value", [-5, 5.01, 1e308, 10**400, None, "4"])
def test_a_rating_outside_its_range_is_rejected(storefront_a, lipstick, value):
    body = storefront_a.post("/api/v1/events", [event(type="rating", value=value)], format="json").json()
    assert "a rating from 0 to 5" in rejections(body)[0]["value"]


def test_ratings_within_the_range_are_stored_and_the_range_follows_the_settings(settings, storefront_a, lipstick):
    settings.VITRINE_RATING_MIN, settings.VITRINE_RATING_MAX = 1, 10
    batch = [event("zero", type="rating", value=0), event("ten", type="rating", value=10), event("half", type="rating", value=4.5)]

    body = storefront_a.post("/api/v1/events", batch, format="json").json()

    assert set(rejections(body)) == {0}
    assert dict(Event.objects.values_list("event_id", "value")) == {"ten": 10.0, "half": 4.5}


@pytest.mark.parametrize("value", [-1, 1e308, 1_000_001])
def test_a_quantity_must_be_non_negative_and_bounded(storefront_a, lipstick, value):
    body = storefront_a.post("/api/v1/events", [event(type="purchase", value=value), event("ok", type="purchase", value=3)], format="json").json()
    assert rejections(body) == {0: {"value": "Must be a quantity from 0 to 1,000,000."}}


def test_a_category_too_long_once_its_separators_are_spaced_is_rejected(storefront_a):
    body = storefront_a.post("/api/v1/items", [{"item_id": "i", "title": "t", "category": ">".join("a" * 250)}], format="json").json()
    assert "category" in rejections(body)[0]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/homepage/s1", {"rails": "for-you,a\x00b"}, "rails"),
        ("/api/v1/homepage/s1", {"exclude": "sku-1,a\x00b"}, "exclude"),
        ("/api/v1/homepage/s1", {"exclude": "a/b"}, "exclude"),
        ("/api/v1/recommendations/s1", {"exclude": "\x00"}, "exclude"),
    ],
)
def test_a_list_parameter_holding_no_id_is_a_400(storefront_a, path, params, field):
    response = storefront_a.get(path, params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["details"]) == [field]


def test_a_surrogate_percent_encoded_in_a_list_parameter_is_a_400(storefront_a):
    # Django decodes it as U+FFFD replacement characters, which are no id either.
    response = storefront_a.get("/api/v1/homepage/s1", QUERY_STRING="exclude=%ED%A0%80")
    assert response.status_code == 400
    assert "exclude" in response.json()["error"]["details"]


def test_too_many_query_parameters_is_a_json_400(storefront_a):
    response = storefront_a.get("/api/v1/homepage/s1", QUERY_STRING="&".join(f"p{n}=1" for n in range(1001)))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_host_the_server_does_not_serve_is_a_json_400(storefront_a):
    response = storefront_a.get("/api/v1/homepage/s1", HTTP_HOST="shop.example")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_record_of_many_unknown_fields_is_answered_briefly(storefront_a):
    item = {"item_id": "i", "title": "t", **{f"f{n:03d}": n for n in range(500)}}

    errors = storefront_a.post("/api/v1/items", [item], format="json").json()["rejected"][0]["errors"]

    assert len(errors) == 11
    assert errors["more_unknown_fields"] == "490 more, not listed."
