"""One JSON error shape for every API failure: {"error": {"code", "message", "details"}}."""

import logging

from django.http import JsonResponse
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


def exception_handler(exc, context):
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


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", f"No endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", "Vitrine could not process this request."), status=500)
    return defaults.server_error(request)
