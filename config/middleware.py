"""A database that cannot be reached answers 503 with Retry-After, never a 500: a storefront falls back and retries."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .api_errors import DATABASE_ERRORS, database_unavailable


class DatabaseUnavailableMiddleware:
    """The views outside DRF (the console); DRF's views map the same errors in config.api_errors.exception_handler."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return database_unavailable(request, exception) if isinstance(exception, DATABASE_ERRORS) else None
