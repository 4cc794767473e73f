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


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
def test_an_oversized_body_is_a_json_413(live_server, storefront_key, path):
    body = b"[" + b'"x",' * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 4 + 1) + b'"x"]'
    response = requests.post(
        f"{live_server.url}{path}", data=body, timeout=30,
        headers={"Authorization": f"Token {storefront_key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("depth", [300, 100_000])
def test_a_deeply_nested_body_is_a_json_400(live_server, storefront_key, path, depth):
    body = json.dumps([{"item_id": "sku-1", "title": "t", "attributes": _deeply_nested(min(depth, 300))}])
    if depth > 300:  # past any recursion limit of a JSON parser
        body = "[" * depth + "]" * depth
    response = requests.post(
        f"{live_server.url}{path}", data=body, timeout=30,
        headers={"Authorization": f"Token {storefront_key}", "Content-Type": "application/json"},
    )
    assert response.status_code in (200, 400)
    assert "error" in response.json() or response.json()["rejected"]
