import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

ENDPOINTS = [
    ("post", "/api/v1/items"),
    ("post", "/api/v1/events"),
    ("get", "/api/v1/items/anything"),
    ("delete", "/api/v1/shoppers/anyone"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_requires_a_key(anonymous, method, url):
    response = getattr(anonymous, method)(url, [], format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_an_unknown_key_is_refused(anonymous, method, url):
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-key-of-anyone")
    response = getattr(anonymous, method)(url, [], format="json")
    assert response.status_code == 401
    assert "Unknown or revoked" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_a_key_revoked_in_the_admin_is_refused_at_once(shop_a, storefront_a):
    items = [{"item_id": "i1", "title": "Lipstick"}]
    assert storefront_a.post("/api/v1/items", items, format="json").status_code == 200  # checked, and kept by this process

    key = shop_a.api_keys.get()
    key.revoked = True
    key.save()  # as the admin's change form does

    assert storefront_a.post("/api/v1/items", items, format="json").status_code == 401


@pytest.mark.django_db
def test_a_checked_key_is_read_again_only_once_its_shop_changes(shop_a, storefront_a):
    def key_read() -> bool:
        with CaptureQueriesContext(connection) as queries:
            assert storefront_a.get("/api/v1/homepage/visitor").status_code == 200
        return any('FROM "catalog_apikey"' in query["sql"] for query in queries.captured_queries)

    key_read()
    assert not key_read()

    shop_a.name = "Renamed"
    shop_a.save()  # the process's copy of the shop is stale

    assert key_read()
    assert not key_read()


@pytest.mark.django_db
def test_a_malformed_header_says_how_to_authenticate(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer abc")
    response = anonymous.post("/api/v1/items", [], format="json")
    assert response.status_code == 401
    assert "Authorization: Token <key>" in response.json()["error"]["message"]


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_key_revoked_by_a_direct_database_update_is_refused_within_5_seconds(shop_a, storefront_a):
    items = [{"item_id": "i1", "title": "Lipstick"}]
    assert storefront_a.post("/api/v1/items", items, format="json").status_code == 200  # checked, and kept by this process
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_apikey SET revoked = true WHERE shop_id = %s", [shop_a.pk])  # no signal, no token moved
    revoked_at = time.monotonic()

    while storefront_a.post("/api/v1/items", items, format="json").status_code == 200:
        assert time.monotonic() - revoked_at < 5
        time.sleep(0.2)

    assert storefront_a.post("/api/v1/items", items, format="json").status_code == 401
