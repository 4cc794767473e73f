"""One JSON error shape for every API failure: {"error": {"code", "message", "details"}}."""

import logging
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, details=None) -> dict:
    body = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def _single(value):
    """A detail or code given as one string, or as a list of one string, else None."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) else None


def _message(exc: exceptions.APIException) -> str:
    return _single(exc.detail) or "The request is not valid; see details."


def _code(exc: exceptions.APIException) -> str:
    return _single(exc.get_codes()) or exc.default_code


# Refused, dropped or broken connections, and the database's own refusals (too many clients, a shutdown).
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_SECONDS = 5
_database_error_logged_at = float("-inf")


def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """503 with Retry-After, JSON under /api/, for a request the database could not serve. Its broken
    connections are closed, so the next request connects again: once the database is back, it is served."""
    global _database_error_logged_at
    for connection in connections.all(initialized_only=True):
        # Inside a transaction the connection is the transaction's to close, as it unwinds.
        if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
            connection.close()
    if time.monotonic() - _database_error_logged_at > DATABASE_RETRY_SECONDS:  # once per retry period, not per request
        _database_error_logged_at = time.monotonic()
        logger.warning("The database is unavailable: %s", exc)
    if request.path.startswith("/api/"):
        message = f"The database is unavailable; retry in {DATABASE_RETRY_SECONDS} seconds."
        response = JsonResponse(error_body("database_unavailable", message), status=503)
    else:
        response = HttpResponse("Vitrine cannot reach its database; try again in a few seconds.", status=503, content_type="text/plain")
    response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    return response


def _refused(exc: SuspiciousOperation) -> Response:
    """Django's refusals of a request as it reads it: a body over the limit, too many parameters."""
    logger.warning("Refused a request: %s", exc)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The request body is larger than {limit:,} bytes, the most Vitrine reads; send fewer records a request."
        body = error_body("payload_too_large", message, {"max_body_bytes": limit})
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return Response(error_body("bad_request", str(exc)), status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc, context):
    if isinstance(exc, DATABASE_ERRORS):
        return database_unavailable(context["request"], exc)
    if isinstance(exc, SuspiciousOperation):
        return _refused(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", "Vitrine could not process this request; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.APIException):
        details = exc.detail if _single(exc.detail) is None else None
        response.data = error_body(_code(exc), _message(exc), details)
    return response


def bad_request(request, exception=None):
    """Django's refusals before any view runs, e.g. a Host header not in ALLOWED_HOSTS."""
    if request.path.startswith("/api/"):
        message = "The request is not valid (e.g. a Host this server does not serve)."
        return JsonResponse(error_body("bad_request", message), status=400)
    return defaults.bad_request(request, exception)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", f"No endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", "Vitrine could not process this request."), status=500)
    return defaults.server_error(request)
