import pytest

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
def test_a_revoked_key_is_refused(shop_a, storefront_a):
    shop_a.api_keys.update(revoked=True)
    response = storefront_a.post("/api/v1/items", [{"item_id": "i1", "title": "Lipstick"}], format="json")
    assert response.status_code == 401


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
