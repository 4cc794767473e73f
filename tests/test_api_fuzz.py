"""The storefront API against generated requests, over HTTP to a live server: every endpoint, valid and invalid
input, authenticated. Zero 5xx, and every answer (status, content type, body) as the OpenAPI schema says.

`make test` runs a bounded, fixed-seed pass; `make fuzz` the same with many more examples and a random seed
(VITRINE_FUZZ_EXAMPLES, VITRINE_FUZZ_SEED).
"""

import json
import os

import pytest
import requests
import schemathesis
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from drf_spectacular.generators import SchemaGenerator

from catalog.services import api_key_create, item_batch_upsert
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("VITRINE_FUZZ_EXAMPLES", "12"))
SEED = os.environ.get("VITRINE_FUZZ_SEED", "20261207")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def storefront_key(db):
    shop = ShopFactory(slug="fuzzed")
    item_batch_upsert(shop=shop, items=[{"item_id": f"sku-{n}", "title": f"Lipstick {n}"} for n in range(5)])
    _, raw_key = api_key_create(shop=shop, name="fuzz")
    return raw_key


def _served_schema() -> dict:
    # The document /api/schema/ serves, built in-process: the live server it describes starts per test.
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_served_schema())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES)


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    derandomize=SEED != "random",
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error_or_an_answer_outside_the_schema(case, live_server, storefront_key):
    case.call_and_validate(base_url=live_server.url, headers={"Authorization": f"Token {storefront_key}"}, checks=CHECKS)


def _deeply_nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"k": value}
    return value


BODY_ENDPOINTS = ["/api/v1/items", "/api/v1/events"]


def _post(live_server, key: str, path: str, body: str) -> requests.Response:
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    return requests.post(f"{live_server.url}{path}", data=body, headers=headers, timeout=30)


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_an_oversized_body_is_a_json_413(live_server, storefront_key, path):
    body = "[" + '"x",' * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 4 + 1) + '"x"]'
    response = _post(live_server, storefront_key, path, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(("path", "field"), [("/api/v1/items", "attributes"), ("/api/v1/events", "context")])
def test_a_deeply_nested_record_is_rejected_alone_and_the_rest_of_its_batch_is_stored(live_server, storefront_key, path, field):
    good = {"item_id": "sku-9", "title": "Gloss"} if "items" in path else {
        "event_id": "e-1", "shopper_id": "s-1", "item_id": "sku-1", "type": "view", "occurred_at": "2026-11-20T10:00:00Z"}
    deep = {**good, "item_id" if "items" in path else "event_id": "deep", field: _deeply_nested(300)}
    response = _post(live_server, storefront_key, path, json.dumps([deep, good]))
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1 and body["created"] == 1
    assert [rejected["index"] for rejected in body["rejected"]] == [0]
    assert field in body["rejected"][0]["errors"]


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_a_body_nested_past_any_parser_limit_is_a_json_400(live_server, storefront_key, path):
    response = _post(live_server, storefront_key, path, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
