def test_the_openapi_schema_lists_the_storefront_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/items", "/api/v1/events", "/api/v1/shoppers/{external_id}"} <= set(paths)


def test_the_docs_page_is_served_without_internet(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"cdn" not in response.content.lower()
