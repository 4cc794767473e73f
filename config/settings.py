"""Vitrine settings, read from the environment (see README "Configuration")."""

import secrets
from pathlib import Path

import dj_database_url
from kombu import Queue as KombuQueue

from . import embedded
from .env import env_bool, env_float, env_int, env_list, env_str
from .queues import Queue
from .schedule import beat_schedule

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = embedded.data_dir()


def _secret_key() -> str:
    """The key from the environment, else one kept in the data folder so sessions survive restarts."""
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "catalog",
    "recommender",
    "homepage",
    "merchandising",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    # Connections are kept between requests: opening one costs more than a storefront batch insert.
    conn_max_age = env_int("DATABASE_CONN_MAX_AGE", 60)
    # Checking a kept connection costs a round trip on every request. Unchecked, a request on a connection the
    # database dropped (a restart) fails once, and the connection is replaced at the end of that request.
    health_checks = env_bool("DATABASE_CONN_HEALTH_CHECKS", False)
    # The storefront's per-request reads (catalog.selectors.sql_rows) run as prepared statements from their
    # fifth run on a connection: planned once, not on every request. The ORM's queries are never prepared.
    # Behind a pooler in transaction mode without prepared statement support, set DATABASE_PREPARED_STATEMENTS=0.
    options = {"prepare_threshold": 5 if env_bool("DATABASE_PREPARED_STATEMENTS", True) else None}
    url = env_str("DATABASE_URL")
    if url:
        database = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=health_checks)
        return {**database, "OPTIONS": {**database.get("OPTIONS", {}), **options}}
    database = embedded.postgres_settings(DATA_DIR, env_str("VITRINE_EMBEDDED_DB_NAME", "vitrine"))
    return {**database, "OPTIONS": options, "CONN_MAX_AGE": conn_max_age, "CONN_HEALTH_CHECKS": health_checks}


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def redis_url(db: int, *, cache: bool = False) -> str:
    """The Redis URL of logical database `db` on the broker's server, or on the cache's: the configured
    one (the cache's is CACHE_REDIS_URL's, else REDIS_URL's), else the embedded one."""
    url = (env_str("CACHE_REDIS_URL") if cache else "") or env_str("REDIS_URL")
    if url:
        base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
        return f"{base}/{db}"
    return f"unix://{embedded.redis_start(DATA_DIR, embedded.CACHE if cache else embedded.BROKER)}?db={db}"


def broker_url(db: int) -> str:
    url = redis_url(db)
    if url.startswith("unix://"):
        path, _, _ = url.removeprefix("unix://").partition("?")
        return f"redis+socket://{path}?virtual_host={db}"
    return url


REDIS_DB = env_int("VITRINE_REDIS_DB", 0)

CACHES = {
    "default": {
        "BACKEND": "config.cache.ReusedClientRedisCache",
        "LOCATION": redis_url(REDIS_DB, cache=True),
        "KEY_PREFIX": "vitrine",
    }
}

CELERY_BROKER_URL = broker_url(REDIS_DB)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = Queue.DEFAULT
CELERY_TASK_QUEUES = [KombuQueue(queue) for queue in Queue]
CELERY_TASK_ROUTES = {
    "recommender.tasks.train_model_version_task": {"queue": Queue.TRAIN},
    "homepage.tasks.homepages_precompute_task": {"queue": Queue.SCORE},
}
CELERY_BEAT_SCHEDULE = beat_schedule()
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["catalog.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["catalog.auth.HasShopApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Vitrine storefront API",
    "DESCRIPTION": (
        "Send your catalog and your shoppers' events; ask for a shopper's homepage. "
        "Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("VITRINE_LOG_LEVEL", "INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# Vitrine
VITRINE_MAX_BATCH = env_int("VITRINE_MAX_BATCH", 1000)
VITRINE_DEMO_DATA = env_str("VITRINE_DEMO_DATA", str(BASE_DIR.parent / "shared" / "datasets" / "amazon_beauty_5core"))
VITRINE_ARTIFACTS_DIR = Path(env_str("VITRINE_ARTIFACTS_DIR", str(DATA_DIR / "artifacts")))
VITRINE_TEXT_MODEL_PATH = env_str("VITRINE_TEXT_MODEL_PATH")
VITRINE_POPULARITY_HALF_LIFE_DAYS = env_float("VITRINE_POPULARITY_HALF_LIFE_DAYS", 30.0)
VITRINE_TRAIN_DEVICE = env_str("VITRINE_TRAIN_DEVICE")  # empty: the GPU when there is one, else the CPU
VITRINE_CPU_TRAIN_TIME_LIMIT_S = env_float("VITRINE_CPU_TRAIN_TIME_LIMIT_S", 240.0)
VITRINE_GPU_TRAIN_TIME_LIMIT_S = env_float("VITRINE_GPU_TRAIN_TIME_LIMIT_S", 0.0) or None
VITRINE_SEQUENCE_LENGTH = env_int("VITRINE_SEQUENCE_LENGTH", 50)
# The worker composes the pages of the most recently active shoppers every 10 minutes: how far back, how many.
VITRINE_PRECOMPUTE_DAYS = env_int("VITRINE_PRECOMPUTE_DAYS", 30)
VITRINE_PRECOMPUTE_SHOPPERS = env_int("VITRINE_PRECOMPUTE_SHOPPERS", 5000)
