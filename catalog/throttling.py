"""Limits on the storefront API: a rate per API key, and failed authentications per client address.

Both count in fixed windows (one cache key per window, created with an expiry and then incremented), in the
cache's Redis, which every web process shares. A cache that cannot be reached answers reads as misses and
drops writes (config.cache): then nothing is throttled, and the API goes on serving.
"""

import time
from collections.abc import Callable
from functools import wraps

from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from .models import ApiKey


def client_address(request) -> str:
    """The caller's address as every limit counts it (the API's and the login lockout's): the connection's,
    or with NUM_PROXIES proxies in front the one the outermost of them put in X-Forwarded-For."""
    return BaseThrottle().get_ident(request)


class WindowRateThrottle(SimpleRateThrottle):
    """`DEFAULT_THROTTLE_RATES[scope]` ("N/s", "N/min", "N/hour", "N/day") counted per fixed window."""

    def get_rate(self) -> str:
        # Read at each request rather than bound at import (as SimpleRateThrottle.THROTTLE_RATES is), so that a
        # changed REST_FRAMEWORK setting applies.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()

    def window_key(self, ident: str) -> str:
        self.now = time.time()
        return f"throttle:{self.scope}:{ident}:{int(self.now // self.duration)}"

    def window_count(self, ident: str) -> int:
        return cache.get(self.window_key(ident)) or 0

    def window_incr(self, ident: str) -> int | None:
        """The count in this window with this hit, or None when the cache does not answer."""
        key = self.window_key(ident)
        try:
            return cache.incr(key)
        except ValueError:  # the window's first hit (or no cache)
            if cache.add(key, 1, timeout=self.duration + 1):
                return 1
            try:
                return cache.incr(key)  # another process made the key first
            except ValueError:
                return None

    def wait(self) -> float:
        return self.duration - self.now % self.duration


class ApiKeyRateThrottle(WindowRateThrottle):
    """VITRINE_API_RATE requests per key: a storefront's own traffic, generous, and one cache increment a request."""

    scope = "api_key"

    def allow_request(self, request, view) -> bool:
        if self.rate is None or not isinstance(request.auth, ApiKey):
            return True
        count = self.window_incr(str(request.auth.pk))
        return count is None or count <= self.num_requests


class FailedAuthenticationThrottle(WindowRateThrottle):
    """VITRINE_API_AUTH_FAILURE_RATE failed authentications per client address; past it, that address is
    refused until the window ends, whatever key it sends."""

    scope = "auth_failure"

    def allow_request(self, request, view) -> bool:
        return self.rate is None or self.window_count(client_address(request)) < self.num_requests

    def failure_record(self, request) -> None:
        if self.rate is not None:
            self.window_incr(client_address(request))


def failed_authentications_limited(authenticate: Callable) -> Callable:
    """Wraps an authentication class's `authenticate`: an address over its limit of failures is answered 429
    before its key is even looked up (no query for a guesser), and each AuthenticationFailed counts."""

    @wraps(authenticate)
    def wrapper(authentication, request):
        throttle = FailedAuthenticationThrottle()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(throttle.wait(), detail="Too many failed authentications from this address.")
        try:
            return authenticate(authentication, request)
        except exceptions.AuthenticationFailed:
            throttle.failure_record(request)
            raise

    return wrapper
