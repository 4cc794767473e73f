"""Test settings: the real PostgreSQL and Redis, on a Redis database of the suite's own."""

from .settings import *  # noqa: F403
from .settings import broker_url, env_int, env_str, redis_url

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A running `make run` shares the embedded Redis; its worker must never take the suite's tasks.
# Two suites can run side by side on one machine when each names its own
# Redis database and test database.
REDIS_DB = env_int("VITRINE_TEST_REDIS_DB", 15)
DATABASES["default"]["TEST"] = {"NAME": env_str("VITRINE_TEST_DATABASE", "test_vitrine")}  # noqa: F405
CACHES["default"]["LOCATION"] = redis_url(REDIS_DB, cache=True)  # noqa: F405
CELERY_BROKER_URL = broker_url(REDIS_DB)
# Pages link static files by their own names, whatever a past `collectstatic` left in the data dir. A copy:
# config.settings.STORAGES stays the production one, which tests/config/test_static.py serves.
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A test's rows live in its transaction, which another thread's connection cannot see: whole new snapshots are
# read by the request itself (tests/homepage/test_snapshot.py turns building behind on where it commits).
VITRINE_SNAPSHOT_BUILD_BEHIND = False
