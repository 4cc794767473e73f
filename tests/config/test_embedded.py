import os

import pytest
from django.conf import settings
from django.db import connection

from config import embedded


def test_the_database_is_postgresql_with_pgvector(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert cursor.fetchone() is not None
    assert connection.vendor == "postgresql"


def test_the_cache_is_a_real_redis():
    from django.core.cache import cache

    cache.set("vitrine-test-key", {"a": 1}, 5)
    assert cache.get("vitrine-test-key") == {"a": 1}
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")


@pytest.fixture
def redis_server(tmp_path):
    """Starts an embedded Redis of the given kind in a data dir of the test's own; stopped after."""
    import redis

    started = []

    def start(server: embedded.RedisServer) -> redis.Redis:
        socket = embedded.redis_start(tmp_path, server)
        started.append(server)
        return redis.Redis(unix_socket_path=str(socket))

    yield start
    for server in started:
        embedded.redis_stop(tmp_path, server)


def test_the_embedded_broker_snapshots_its_queues_to_disk_every_minute_of_writes(redis_server):
    assert redis_server(embedded.BROKER).config_get("save") == {"save": "60 100"}


def test_the_embedded_cache_keeps_nothing_on_disk_and_evicts_the_least_recently_used_past_its_cap(redis_server, tmp_path):
    cache = redis_server(embedded.CACHE)
    assert cache.config_get("save") == {"save": ""}
    assert cache.config_get("maxmemory") == {"maxmemory": str(512 * 1024 * 1024)}
    cache.config_set("maxmemory", 4 * 1024 * 1024)  # a small cap, so a few writes pass it

    for number in range(100):
        cache.set(f"page-{number}", b"x" * 100_000)  # 10 MB written: past the cap, writes go on

    assert cache.exists("page-99")
    assert not cache.exists("page-0")
    assert not (tmp_path / embedded.CACHE.name / "dump.rdb").exists()


def test_the_cache_and_the_broker_are_separate_servers_by_default():
    if os.environ.get("REDIS_URL") or os.environ.get("CACHE_REDIS_URL"):
        pytest.skip("a Redis server is configured: the embedded ones are not used")
    cache_socket = str(embedded.redis_socket_path(settings.DATA_DIR, embedded.CACHE))
    broker_socket = str(embedded.redis_socket_path(settings.DATA_DIR, embedded.BROKER))
    assert cache_socket in settings.CACHES["default"]["LOCATION"]
    assert broker_socket in settings.CELERY_BROKER_URL
    assert cache_socket != broker_socket
