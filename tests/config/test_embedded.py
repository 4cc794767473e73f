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


def test_the_embedded_redis_snapshots_its_queue_to_disk_every_minute_of_writes(tmp_path):
    import redis

    socket = embedded.redis_start(tmp_path)
    try:
        assert redis.Redis(unix_socket_path=str(socket)).config_get("save") == {"save": "60 100"}
    finally:
        embedded.redis_stop(tmp_path)
