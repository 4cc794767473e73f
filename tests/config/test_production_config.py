"""Vitrine on servers of its own: PostgreSQL and Redis named by DATABASE_URL, REDIS_URL and CACHE_REDIS_URL.

The last test runs under `make test-external`, which runs part of the suite on servers reached over TCP."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

from config.settings import broker_url, redis_url

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_the_configured_redis_url_names_the_server_and_the_caller_the_database(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://:secret@10.0.0.5:6380/3")
    monkeypatch.delenv("CACHE_REDIS_URL", raising=False)
    assert redis_url(12) == redis_url(12, cache=True) == broker_url(12) == "redis://:secret@10.0.0.5:6380/12"

    monkeypatch.setenv("CACHE_REDIS_URL", "redis://cache.internal:6379")
    assert redis_url(12, cache=True) == "redis://cache.internal:6379/12"
    assert broker_url(12) == "redis://:secret@10.0.0.5:6380/12"


def test_with_servers_configured_no_embedded_server_is_started(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VITRINE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://vitrine:secret@db.internal:5433/shop",
        "REDIS_URL": "redis://broker.internal:6379/0",
        "CACHE_REDIS_URL": "redis://cache.internal:6379/0",
        "VITRINE_REDIS_DB": "2",
    }
    read = (
        "import json; from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(json.dumps([d['HOST'], d['PORT'], d['NAME'], d['USER'], "
        "s.CACHES['default']['LOCATION'], s.CELERY_BROKER_URL]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", read], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr

    assert json.loads(done.stdout) == [
        "db.internal", 5433, "shop", "vitrine", "redis://cache.internal:6379/2", "redis://broker.internal:6379/2"
    ]
    assert not {"pg", "redis", "cache"} & {path.name for path in tmp_path.iterdir()}


@pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="runs under `make test-external`, with DATABASE_URL and REDIS_URL naming servers reached over TCP",
)
@pytest.mark.django_db
def test_the_configured_servers_serve_the_database_the_cache_and_the_broker():
    import redis
    from django.core.cache import cache
    from django.db import connection
    from kombu import Connection

    database, configured_redis = urlparse(os.environ["DATABASE_URL"]), urlparse(os.environ["REDIS_URL"])
    assert connection.settings_dict["HOST"] == database.hostname
    assert int(connection.settings_dict["PORT"]) == database.port
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_addr() IS NOT NULL")  # null on a unix socket
        assert cursor.fetchone() == (True,)

    # The suite's own database on the configured server, whatever database REDIS_URL names.
    expected = f"{configured_redis.scheme}://{configured_redis.netloc}/{settings.REDIS_DB}"
    assert settings.CACHES["default"]["LOCATION"] == settings.CELERY_BROKER_URL == expected
    cache.set("production-probe", "here", 30)
    assert redis.Redis.from_url(expected).exists(cache.make_key("production-probe"))
    if configured_redis.path.strip("/") != str(settings.REDIS_DB):
        assert not redis.Redis.from_url(os.environ["REDIS_URL"]).exists(cache.make_key("production-probe"))
    with Connection(settings.CELERY_BROKER_URL) as broker:
        broker.ensure_connection(max_retries=1)
