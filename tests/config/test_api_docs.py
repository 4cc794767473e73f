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


def test_every_operation_declares_the_key_scheme_and_its_error_responses(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"ApiKey": []}], (method, path)
            responses = operation["responses"]
            assert {"401", "429", "503"} <= set(responses), (method, path)
            assert responses["401"]["content"]["application/json"]["schema"] == error_ref
            assert "Retry-After" in responses["429"]["headers"]
    assert "413" in schema["paths"]["/api/v1/events"]["post"]["responses"]
    assert "404" in schema["paths"]["/api/v1/items/{external_id}"]["get"]["responses"]
    assert "413" not in schema["paths"]["/api/v1/items/{external_id}"]["get"]["responses"]
