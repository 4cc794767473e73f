import json
import os
import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_DEBUG": "false",
    "DJANGO_SECURE": "true",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py under the real settings module and the given environment, on this suite's embedded servers."""
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "VITRINE_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VITRINE_DATA_DIR": str(settings.DATA_DIR),
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_local_run_serves_plain_http_and_check_deploy_says_so():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_SECRET_KEY=PRODUCTION["DJANGO_SECRET_KEY"])
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


SHOW = """
import json
from datetime import timedelta
from django.conf import settings

names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
         "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "AXES_FAILURE_LIMIT"]
shown = {name: getattr(settings, name) for name in names}
shown["cooloff_minutes"] = timedelta(hours=settings.AXES_COOLOFF_TIME).total_seconds() / 60
shown["rates"] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
shown["proxies"] = settings.REST_FRAMEWORK["NUM_PROXIES"]
print(json.dumps(shown))
"""


def shown(**env: str) -> dict:
    result = manage("shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_each_protection_and_limit_is_set_from_the_environment():
    assert shown(
        DJANGO_SECURE="true", DJANGO_SECURE_HSTS_PRELOAD="false", DJANGO_SECURE_HSTS_SECONDS="600",
        DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https", VITRINE_LOGIN_FAILURE_LIMIT="3",
        VITRINE_LOGIN_COOLOFF_MINUTES="30", VITRINE_API_RATE="100/s", VITRINE_API_AUTH_FAILURE_RATE="5/min",
        VITRINE_NUM_PROXIES="1",
    ) == {
        "SECURE_SSL_REDIRECT": True, "SECURE_HSTS_SECONDS": 600, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"], "AXES_FAILURE_LIMIT": 3,
        "cooloff_minutes": 30.0, "rates": {"api_key": "100/s", "auth_failure": "5/min"}, "proxies": 1,
    }


def test_the_local_defaults_are_plain_http_with_the_documented_limits():
    assert shown() == {
        "SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0, "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False, "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None, "AXES_FAILURE_LIMIT": 5,
        "cooloff_minutes": 15.0, "rates": {"api_key": "60000/min", "auth_failure": "20/min"}, "proxies": 0,
    }
