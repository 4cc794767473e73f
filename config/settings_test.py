"""Test settings: the real PostgreSQL and Redis, on a Redis database of the suite's own."""

from .settings import *  # noqa: F403
from .settings import broker_url, redis_url

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A running `make run` shares the embedded Redis; its worker must never take the suite's tasks.
REDIS_DB = 15
CACHES["default"]["LOCATION"] = redis_url(REDIS_DB)  # noqa: F405
CELERY_BROKER_URL = broker_url(REDIS_DB)
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
