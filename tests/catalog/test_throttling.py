import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.services import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """Small limits, as VITRINE_API_RATE and VITRINE_API_AUTH_FAILURE_RATE would set them."""

    def set_rates(*, api_key: str = "6000/min", auth_failure: str = "20/min", num_proxies: int = 0) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"api_key": api_key, "auth_failure": auth_failure},
            "NUM_PROXIES": num_proxies,
        }

    return set_rates


def guesser(address: str = "203.0.113.7", **headers) -> APIClient:
    client = APIClient(REMOTE_ADDR=address, **headers)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-key-of-anyone")
    return client


def assert_throttled(response) -> int:
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    assert f"{wait} second" in response.json()["error"]["message"]
    return wait


def test_a_key_past_its_rate_is_answered_429_with_retry_after(rates, storefront_a, storefront_b):
    rates(api_key="3/min")

    assert [storefront_a.get("/api/v1/items/none").status_code for _ in range(3)] == [404, 404, 404]

    assert_throttled(storefront_a.get("/api/v1/items/none"))
    assert storefront_b.get("/api/v1/items/none").status_code == 404  # each key has its own rate


def test_an_address_past_its_failed_authentications_is_refused_before_any_key_is_looked_up(rates, shop_a, storefront_a):
    rates(auth_failure="3/min")
    attacker = guesser()
    assert [attacker.get("/api/v1/items/none").status_code for _ in range(3)] == [401, 401, 401]

    with CaptureQueriesContext(connection) as queries:
        refused = attacker.get("/api/v1/items/none")
    wait = assert_throttled(refused)
    assert "Too many failed authentications" in refused.json()["error"]["message"]
    assert queries.captured_queries == []

    # A right key from that address is refused all the same: a guess that hits learns nothing.
    _, raw_key = api_key_create(shop=shop_a, name="guessed")
    lucky = APIClient(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=f"Token {raw_key}")
    assert lucky.get("/api/v1/items/none").status_code == 429
    assert wait >= int(lucky.get("/api/v1/items/none")["Retry-After"])

    # The storefront, from its own address, goes on.
    assert storefront_a.get("/api/v1/items/none").status_code == 404


def test_successful_requests_count_no_failure(rates, storefront_a):
    rates(auth_failure="2/min")
    assert {storefront_a.get("/api/v1/items/none").status_code for _ in range(5)} == {404}
    assert [guesser("127.0.0.1").get("/api/v1/items/none").status_code for _ in range(3)] == [401, 401, 429]


def test_a_malformed_header_counts_as_a_failure(rates, anonymous):
    rates(auth_failure="2/min")
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer abc")
    assert [anonymous.get("/api/v1/items/none").status_code for _ in range(3)] == [401, 401, 429]


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(rates):
    rates(auth_failure="2/min")
    statuses = [
        guesser(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").get("/api/v1/items/none").status_code for n in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_behind_a_proxy_failures_count_by_the_address_it_forwards(rates):
    rates(auth_failure="2/min", num_proxies=1)

    def attempt(client_address: str) -> int:
        # The proxy connects from 10.0.0.2 and appends the address it saw; the client may have sent one of its own.
        forwarded = f"192.0.2.1, {client_address}"
        return guesser("10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded).get("/api/v1/items/none").status_code

    assert [attempt("198.51.100.1") for _ in range(3)] == [401, 401, 429]
    assert attempt("198.51.100.2") == 401


def test_without_the_cache_nothing_is_throttled(rates, settings, storefront_a):
    rates(api_key="1/min", auth_failure="1/min")
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "unix:///nonexistent/vitrine-cache.sock?db=0",
            "OPTIONS": {"embedded_data_dir": None},
        }
    }

    assert {storefront_a.get("/api/v1/items/none").status_code for _ in range(3)} == {404}
    assert {guesser().get("/api/v1/items/none").status_code for _ in range(3)} == {401}
