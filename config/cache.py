"""Django's Redis cache, made to degrade rather than fail when its Redis is unreachable, and to reuse its clients.

Every cached value can be computed again, so a Redis that cannot be reached is answered as a cache that holds
nothing: reads miss, writes are dropped, and no connection error reaches the caller. After a failure Redis is
left alone for a second (a dead server costs a request nothing rather than a connect timeout per call); the
next call then tries it again, so the cache is used again as soon as it answers. The embedded cache server
(no CACHE_REDIS_URL or REDIS_URL) is started again by the first process that finds it gone.

A dropped write may have been an invalidation (a token bump, an entry dropped): the keys of the writes
dropped during an outage are deleted once Redis answers again, so nothing they would have replaced is served.

One Redis client per connection pool, rather than a new one for every call: building one registers some 170
response callbacks, about half a millisecond of CPU per storefront request at a few cache calls each.
"""

import logging
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError

from . import embedded

logger = logging.getLogger(__name__)

# Redis answers in well under a millisecond: past these, the server is taken as gone.
SOCKET_TIMEOUTS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
UNAVAILABLE = (ConnectionError, TimeoutError, ReadOnlyError)
RETRY_AFTER_SECONDS = 1.0
# Past this many dropped writes in one outage, the rest are not remembered: their entries expire by themselves.
MAX_FORGOTTEN_KEYS = 100_000
_DELETE_BATCH = 1000


class ResilientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, *, embedded_data_dir: str | None = None, **options):
        super().__init__(servers, **{**SOCKET_TIMEOUTS, **options})
        # Set only for the embedded cache server: a configured Redis is never started from here.
        self._embedded_data_dir = Path(embedded_data_dir) if embedded_data_dir else None
        self._lock = threading.Lock()
        self._failing = False
        self._retry_at = 0.0
        self._forgotten: set[str] = set()
        self._clients: dict[int, object] = {}  # by id of their connection pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def _attempt(self, operation: Callable, args: tuple, *, miss, written: Iterable[str] = ()):
        """`operation(*args)`, or `miss` when Redis cannot be reached; the keys it would write are remembered then."""
        if time.monotonic() < self._retry_at:
            self._forget(written)
            return miss
        replayed = None
        try:
            if self._failing:
                replayed = self._replay()
            result = operation(*args)
        except UNAVAILABLE as error:
            self._forget(written)
            self._failed(error)
            return miss
        if replayed is not None:
            self._back(replayed)
        return result

    def _forget(self, keys: Iterable[str]) -> None:
        with self._lock:
            room = MAX_FORGOTTEN_KEYS - len(self._forgotten)
            self._forgotten.update(key for _, key in zip(range(room), keys))

    def _failed(self, error: Exception) -> None:
        with self._lock:
            first = not self._failing
            self._failing = True
            self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
        if first:
            logger.warning("The cache's Redis is unavailable (%s): serving without the cache until it answers again.", error)
        # A server that times out is there, busy or hung: starting another on its socket would orphan it.
        if self._embedded_data_dir is None or not isinstance(error, ConnectionError):
            return
        try:
            # Idempotent and locked: of the processes finding it gone, one starts it and the others wait for it.
            embedded.redis_start(self._embedded_data_dir, embedded.CACHE)
        except (OSError, RuntimeError, subprocess.SubprocessError) as restart_error:
            if first:
                logger.warning("The embedded cache Redis could not be started again: %s", restart_error)
        else:
            self._retry_at = 0.0

    def _replay(self) -> int:
        """Before a call that may reach Redis again: delete what the writes dropped meanwhile would have replaced."""
        with self._lock:
            forgotten = list(self._forgotten)
        client = self.get_client(write=True)
        for start in range(0, len(forgotten), _DELETE_BATCH):
            client.delete(*forgotten[start : start + _DELETE_BATCH])
        with self._lock:
            self._forgotten.difference_update(forgotten)
        return len(forgotten)

    def _back(self, replayed: int) -> None:
        with self._lock:
            back, self._failing = self._failing, False
        if back:
            logger.info("The cache is back; the %d keys written while it was unavailable were deleted.", replayed)

    def add(self, key, value, timeout):
        return self._attempt(super().add, (key, value, timeout), miss=False, written=(key,))

    def get(self, key, default):
        return self._attempt(super().get, (key, default), miss=default)

    def set(self, key, value, timeout):
        self._attempt(super().set, (key, value, timeout), miss=None, written=(key,))

    def touch(self, key, timeout):
        return self._attempt(super().touch, (key, timeout), miss=False, written=(key,))

    def delete(self, key):
        return self._attempt(super().delete, (key,), miss=False, written=(key,))

    def get_many(self, keys):
        return self._attempt(super().get_many, (keys,), miss={})

    def has_key(self, key):
        return self._attempt(super().has_key, (key,), miss=False)

    def incr(self, key, delta):
        value = self._attempt(super().incr, (key, delta), miss=None, written=(key,))
        if value is None:
            raise ValueError(f"Key '{key}' not found.")  # as for any key the cache does not hold
        return value

    def set_many(self, data, timeout):
        self._attempt(super().set_many, (data, timeout), miss=None, written=data)

    def delete_many(self, keys):
        self._attempt(super().delete_many, (keys,), miss=None, written=keys)

    def clear(self):
        return self._attempt(super().clear, (), miss=False)


class ResilientRedisCache(RedisCache):
    """OPTIONS: `embedded_data_dir`, where the embedded cache server lives when it is the one used; the rest
    go to redis-py's connection pool, over short socket timeouts."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
