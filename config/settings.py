"""Vitrine settings, read from the environment (see README "Configuration")."""

import secrets
from datetime import datetime, timezone
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


def _proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """"X-Forwarded-Proto: https" as Django wants it: ("HTTP_X_FORWARDED_PROTO", "https")."""
    name, _, https = value.partition(":")
    if not name.strip():
        return None
    return "HTTP_" + name.strip().upper().replace("-", "_"), https.strip()


# HTTPS. A local run serves plain HTTP; in production (behind TLS) DJANGO_SECURE=true turns on every protection
# `check --deploy` asks for, and each can still be set alone.
secure = env_bool("DJANGO_SECURE", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", secure)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600 if secure else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", secure)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", secure)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", secure)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", secure)
# Only behind a proxy that ends TLS and always sets this header: trusted from anyone else, it lets a client
# pass plain HTTP off as HTTPS. Behind such a proxy without it, the SSL redirect sends every request round forever.
SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env_str("DJANGO_SECURE_PROXY_SSL_HEADER"))
# Proxies in front that append to X-Forwarded-For: the API's limits and the login lockout count by the address
# the outermost of them saw. With none, by the connection's address, so that a client cannot pick its own.
VITRINE_NUM_PROXIES = env_int("VITRINE_NUM_PROXIES", 0)

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
    "axes",
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
    "config.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": redis_url(REDIS_DB, cache=True),
        "KEY_PREFIX": "vitrine",
        # The embedded cache server is started again by the process that finds it gone; a configured one is not.
        "OPTIONS": {"embedded_data_dir": None if env_str("CACHE_REDIS_URL") or env_str("REDIS_URL") else str(DATA_DIR)},
    }
}

# The hard time limit of a training task (recommender.tasks).
VITRINE_TRAIN_TASK_TIME_LIMIT_S = env_int("VITRINE_TRAIN_TASK_TIME_LIMIT_S", 6 * 3600)

CELERY_BROKER_URL = broker_url(REDIS_DB)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down fails a publish within seconds (at once when it refuses): a Train press answers, nothing queued.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands a message not yet acknowledged to another worker after this long: it outlasts the longest task.
    "visibility_timeout": VITRINE_TRAIN_TASK_TIME_LIMIT_S + 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_DEFAULT_QUEUE = Queue.DEFAULT
CELERY_TASK_QUEUES = [KombuQueue(queue) for queue in Queue]
CELERY_TASK_ROUTES = {
    "recommender.tasks.train_model_version_task": {"queue": Queue.TRAIN},
    "homepage.tasks.homepages_precompute_task": {"queue": Queue.SCORE},
    "recommender.tasks.item_embeddings_write_through_task": {"queue": Queue.SCORE},
    "recommender.tasks.vector_indexes_refresh_task": {"queue": Queue.SCORE},
    "recommender.tasks.query_embeddings_write_task": {"queue": Queue.SCORE},
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
    "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"},
}
# Files not collected are served from the apps' folders (read once at start-up unless DEBUG), so that every way
# of starting the web server serves the console; collected files, hashed, are served from STATIC_ROOT.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Login lockout (django-axes), on the console's login and the admin's: after VITRINE_LOGIN_FAILURE_LIMIT
# failures a username, and an address, are refused for VITRINE_LOGIN_COOLOFF_MINUTES (a failure while locked
# out starts the wait again). A success resets nothing: it would let an attacker who owns one account wipe the
# failures counted against another from the same address.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("VITRINE_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("VITRINE_LOGIN_COOLOFF_MINUTES", 15.0) / 60  # a float is read as hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "catalog.throttling.client_address"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["catalog.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["catalog.auth.HasShopApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # Failed authentications are limited per address before a key is looked up (catalog.auth), the rest per key.
    "DEFAULT_THROTTLE_CLASSES": ["catalog.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env_str("VITRINE_API_RATE", "60000/min"),
        "auth_failure": env_str("VITRINE_API_AUTH_FAILURE_RATE", "20/min"),
    },
    "NUM_PROXIES": VITRINE_NUM_PROXIES,
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
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.error_responses_add",
    ],
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
# How the encoder is tuned to a shop (finetuned_text): adapter, lora or full; empty: the vector adapter on a
# CPU, LoRA on a GPU.
VITRINE_FINETUNE_MODE = env_str("VITRINE_FINETUNE_MODE")
# A running training run whose process has not been heard from for this long has died and is marked failed.
VITRINE_TRAIN_LEASE_S = env_float("VITRINE_TRAIN_LEASE_S", 120.0)
# A run still queued this long, while no worker trains anything, was never taken from the train queue.
VITRINE_TRAIN_QUEUED_TIMEOUT_S = env_float("VITRINE_TRAIN_QUEUED_TIMEOUT_S", 3600.0)
# A new version serves on its own only when its family's offline metric beats the serving one's by this share.
VITRINE_PROMOTION_MARGIN = env_float("VITRINE_PROMOTION_MARGIN", 0.01)
# Bandit experiments: every variant keeps this share at least, and shares move only once each has this many trials.
VITRINE_BANDIT_FLOOR = env_float("VITRINE_BANDIT_FLOOR", 0.05)
VITRINE_BANDIT_MIN_TRIALS = env_int("VITRINE_BANDIT_MIN_TRIALS", 100)
VITRINE_SEQUENCE_LENGTH = env_int("VITRINE_SEQUENCE_LENGTH", 50)
# A training run's evaluation ranks the whole catalog for at most this many shoppers (a fixed sample beyond).
VITRINE_EVAL_MAX_SHOPPERS = env_int("VITRINE_EVAL_MAX_SHOPPERS", 25_000)
# Items upserted with a new text are embedded by a worker on the score queue, this many per encoder pass and write.
VITRINE_EMBED_ON_WRITE = env_bool("VITRINE_EMBED_ON_WRITE", True)
VITRINE_EMBED_BATCH = env_int("VITRINE_EMBED_BATCH", 256)
# From this many item vectors a shop's similar items are searched in an approximate index a worker builds.
VITRINE_ANN_MIN_ITEMS = env_int("VITRINE_ANN_MIN_ITEMS", 50_000)
# A web process reads a shop's whole catalog anew (a tenth of it changed at once, an encoder promoted) in a
# thread of its own while requests go on with the snapshot they have; 0: the request that finds it stale waits.
VITRINE_SNAPSHOT_BUILD_BEHIND = env_bool("VITRINE_SNAPSHOT_BUILD_BEHIND", True)
# The worker composes the pages of the most recently active shoppers every 10 minutes: how far back, how many.
VITRINE_PRECOMPUTE_DAYS = env_int("VITRINE_PRECOMPUTE_DAYS", 30)
VITRINE_PRECOMPUTE_SHOPPERS = env_int("VITRINE_PRECOMPUTE_SHOPPERS", 5000)
# Storefront input bounds (README "The storefront API"); ids, text lengths and free-form JSON are bounded in
# catalog.validation. An event older than VITRINE_EVENT_EARLIEST, or later than now plus the clock skew, is refused.
_event_earliest = datetime.fromisoformat(env_str("VITRINE_EVENT_EARLIEST", "2000-01-01"))
VITRINE_EVENT_EARLIEST = _event_earliest if _event_earliest.tzinfo else _event_earliest.replace(tzinfo=timezone.utc)
VITRINE_MAX_CLOCK_SKEW_HOURS = env_float("VITRINE_MAX_CLOCK_SKEW_HOURS", 24.0)
VITRINE_RATING_MIN = env_float("VITRINE_RATING_MIN", 0.0)
VITRINE_RATING_MAX = env_float("VITRINE_RATING_MAX", 5.0)
# A full batch fits: 1,000 items at every field's longest make about 40 MB of plain-ASCII JSON.
VITRINE_MAX_BODY_BYTES = env_int("VITRINE_MAX_BODY_BYTES", 48 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = VITRINE_MAX_BODY_BYTES
