"""The cache's Redis stopped for real: the storefront is served without it, and uses it again once it is back.

Each test runs a cache server of its own (started as the embedded one is, in a data dir of its own), never the shared one.
"""

import logging
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.db import connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from catalog.models import Event
from config import cache as cache_backend
from config import embedded
from config.tokens import UNAVAILABLE_TOKEN_SECONDS
from merchandising.models import Rail
from merchandising.services import rail_update
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

BREAKER_WAIT = cache_backend.RETRY_AFTER_SECONDS + 2


@dataclass
class CacheServer:
    data_dir: Path
    socket: Path

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        os.kill(self.pid(), how)
        _until(lambda: not self.answers(), 5)

    def start(self) -> None:
        embedded.redis_start(self.data_dir, embedded.CACHE)

    def answers(self) -> bool:
        try:
            return self.client().ping()
        except redis.ConnectionError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1, retry=Retry(NoBackoff(), 0))

    def pid(self) -> int:
        return int((self.data_dir / embedded.CACHE.name / "redis.pid").read_text())


@pytest.fixture
def data_dir():
    """The test's own data dir: not pytest's tmp_path, which another pytest run may remove while its server runs."""
    directory = Path(tempfile.mkdtemp(prefix="vitrine-cache-test-"))
    yield directory
    server = CacheServer(directory, embedded.redis_socket_path(directory, embedded.CACHE))
    if server.answers():
        server.stop()
    shutil.rmtree(directory)


def _cache_server(data_dir: Path, settings, options: dict) -> CacheServer:
    socket = embedded.redis_start(data_dir, embedded.CACHE)
    # Changing CACHES makes Django build the default cache again, from these settings.
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"unix://{socket}?db=0", "OPTIONS": options}}
    return CacheServer(data_dir, socket)


@pytest.fixture
def configured_server(data_dir, settings):
    """A cache server the cache only connects to, as a CACHE_REDIS_URL one: never started from the cache."""
    return _cache_server(data_dir, settings, {})


@pytest.fixture
def embedded_server(data_dir, settings):
    """A cache server the cache knows as its embedded one."""
    return _cache_server(data_dir, settings, {"embedded_data_dir": str(data_dir)})


@pytest.fixture
def catalog(shop_a):
    return [ItemFactory(shop=shop_a, external_id=f"sku-{number}") for number in range(6)]


def _events(*event_ids: str) -> list[dict]:
    return [
        {"event_id": event_id, "shopper_id": "s1", "item_id": "sku-1", "type": "view", "occurred_at": "2026-11-20T10:00:00Z"}
        for event_id in event_ids
    ]


def _homepage(storefront, shopper_id: str = "visitor") -> dict:
    response = storefront.get(f"/api/v1/homepage/{shopper_id}")
    assert response.status_code == 200
    return response.json()


def _until(condition, seconds: float) -> float:
    """Seconds until `condition()` holds, polled; fails past `seconds`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - start


def _cached_keys(server: CacheServer, pattern: str) -> list[bytes]:
    return server.client().keys(f"*{pattern}*")


def test_with_the_cache_down_events_are_stored_and_homepages_composed(configured_server, shop_a, storefront_a, catalog):
    assert storefront_a.post("/api/v1/events", _events("e1"), format="json").status_code == 200
    composed_with_cache = _homepage(storefront_a, "s1")

    configured_server.stop()

    response = storefront_a.post("/api/v1/events", _events("e2", "e3"), format="json")
    assert response.status_code == 200
    assert response.json()["created"] == 2
    assert set(Event.objects.filter(shop=shop_a).values_list("event_id", flat=True)) == {"e1", "e2", "e3"}
    page = _homepage(storefront_a, "s1")
    assert page["shopper"] == composed_with_cache["shopper"]
    assert page["shopper"]["known"]
    assert [rail["key"] for rail in page["rails"]] == [rail["key"] for rail in composed_with_cache["rails"]]
    assert {item["item_id"] for rail in page["rails"] for item in rail["items"]} <= {item.external_id for item in catalog}
    assert _homepage(storefront_a)["rails"]


def test_with_the_cache_down_a_key_revoked_by_sql_is_refused_within_5_seconds(configured_server, shop_a, storefront_a, catalog):
    configured_server.stop()
    assert storefront_a.post("/api/v1/events", _events("e1"), format="json").status_code == 200  # checked against the database

    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_apikey SET revoked = true WHERE shop_id = %s", [shop_a.pk])

    assert _until(lambda: storefront_a.post("/api/v1/events", _events("e2"), format="json").status_code == 401, 5) < 5


def test_with_the_cache_down_a_rule_change_is_served_within_seconds(configured_server, shop_a, storefront_a, catalog):
    _homepage(storefront_a)  # the shop's first page seeds its default rails
    configured_server.stop()
    _homepage(storefront_a)

    rail_update(rail=Rail.objects.get(shop=shop_a, key="trending"), title="Hot this week")

    def served() -> bool:
        return "Hot this week" in [rail["title"] for rail in _homepage(storefront_a)["rails"]]

    _until(served, UNAVAILABLE_TOKEN_SECONDS + 1)


def test_a_configured_cache_server_back_on_its_socket_is_used_again_without_a_restart(
    configured_server, storefront_a, catalog, caplog
):
    configured_server.stop()
    with caplog.at_level(logging.INFO, logger="config.cache"):
        for _ in range(3):
            _homepage(storefront_a)
        time.sleep(cache_backend.RETRY_AFTER_SECONDS + 0.1)
        _homepage(storefront_a)  # the breaker let a call through, which failed again
        assert not configured_server.answers()  # a configured server is never started by the cache

        configured_server.start()
        _until(lambda: cache.add("back", "yes", 60) and configured_server.client().exists(cache.make_key("back")), BREAKER_WAIT)
        _homepage(storefront_a)

    assert _cached_keys(configured_server, "homepage:page:")  # the page composed is cached again
    messages = [record.getMessage() for record in caplog.records]
    assert sum("is unavailable" in message for message in messages) == 1  # once per outage, not per call
    assert sum("The cache is back" in message for message in messages) == 1


def test_a_hung_cache_server_costs_one_read_timeout_then_is_left_alone(configured_server):
    cache.set("price", "old", 60)
    os.kill(configured_server.pid(), signal.SIGSTOP)
    try:
        start = time.monotonic()
        assert cache.get("price") is None
        first = time.monotonic() - start
        start = time.monotonic()
        for _ in range(100):
            assert cache.get("price") is None
        cache.set("price", "new", 60)  # dropped: the server holds "old" still
        rest = time.monotonic() - start
    finally:
        os.kill(configured_server.pid(), signal.SIGCONT)

    assert first < 2 * cache_backend.SOCKET_TIMEOUTS["socket_timeout"]
    assert rest < 0.1
    # Once it answers again, the value the dropped write would have replaced is not served.
    _until(lambda: cache.get("price") is None and not configured_server.client().exists(cache.make_key("price")), BREAKER_WAIT)


def test_the_embedded_cache_server_found_crashed_is_started_again_by_the_process(embedded_server):
    cache.set("before", 1, 60)
    stopped_pid = embedded_server.pid()
    embedded_server.stop(signal.SIGKILL)  # a crash: its socket is left behind

    start = time.monotonic()
    assert cache.get("before") is None  # the call that finds it gone answers a miss and starts it again
    assert time.monotonic() - start < 1
    assert embedded_server.answers()
    assert embedded_server.pid() != stopped_pid
    cache.set("after", 2, 60)
    assert embedded_server.client().exists(cache.make_key("after"))
    assert cache.get("after") == 2
