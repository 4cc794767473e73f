"""The storefront API's OpenAPI schema: its key scheme, and every error it answers with, in the one error shape.

Swagger's "Try it out" works once a key is entered (as `Token <key>`), and a client generated from the schema
knows each error's body: config.api_errors.error_body.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable: e.g. invalid, not_found, throttled."},
                "message": {"type": "string", "description": "What went wrong and what to send instead."},
                "details": {"description": "Per-field errors, when there are several."},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}

# Status: (description, whether it carries Retry-After, which operations answer it).
ERRORS = {
    "400": ("The request is not valid: the message and details say which field and why.", False, "input"),
    "401": ("No key, a malformed Authorization header, or an unknown or revoked key.", False, "all"),
    "404": ("No such shopper or item in this shop (or no such endpoint).", False, "path"),
    "413": ("The body is larger than the documented limit; the message says the limit.", False, "body"),
    "429": ("Too many requests, or too many failed authentications from this address.", True, "all"),
    "503": ("A dependency (the database) is unavailable; try again after Retry-After.", True, "all"),
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "catalog.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Your shop's key, sent as `Token <key>` (python manage.py create_api_token).",
        }


def _answers(operation: dict, kind: str, path: str) -> bool:
    if kind == "all":
        return True
    if kind == "path":
        return "{" in path
    if kind == "body":
        return "requestBody" in operation
    return "requestBody" in operation or any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))


def error_responses_add(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error component, and each operation's error responses."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, (description, retry_after, kind) in ERRORS.items():
                if status in responses or not _answers(operation, kind, path):
                    continue
                responses[status] = {"description": description, "content": reference}
                if retry_after:
                    responses[status]["headers"] = RETRY_AFTER
    return result
