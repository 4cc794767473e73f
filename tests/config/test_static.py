"""The console and its static files answer however the web server was started: before `collectstatic`
(`make web`, `manage.py runserver` on a fresh checkout), or after a deploy added a file the manifest lacks."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client, override_settings

from config import settings as production

pytestmark = pytest.mark.django_db

STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def _login_page_links(static_root) -> dict[str, tuple[int, bytes]]:
    """The static files the login page links to, each with its status and body, served by the production
    storage and WhiteNoise settings from `static_root`."""
    with override_settings(
        STATIC_ROOT=static_root, STORAGES=production.STORAGES, WHITENOISE_USE_FINDERS=production.WHITENOISE_USE_FINDERS
    ):
        client = Client()  # a new client builds its middleware, WhiteNoise's included, from these settings
        page = client.get("/accounts/login/")
        assert page.status_code == 200
        links = STATIC_LINK.findall(page.content.decode())
        return {link: (response.status_code, b"".join(response)) for link in links for response in [client.get(link)]}


def test_before_collectstatic_the_console_links_and_serves_its_files_by_their_own_names(tmp_path):
    links = _login_page_links(tmp_path)

    assert "/static/vitrine.css" in links
    assert all(status == 200 for status, _ in links.values()), links.keys()
    assert links["/static/vitrine.css"][1] == (settings.BASE_DIR / "static" / "vitrine.css").read_bytes()


def test_a_collected_file_is_served_hashed_and_one_the_manifest_lacks_by_its_own_name(tmp_path):
    (tmp_path / "vitrine.0123456789ab.css").write_text("body { color: black; }")
    manifest = {"version": "1.1", "hash": "", "paths": {"vitrine.css": "vitrine.0123456789ab.css"}}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))

    links = _login_page_links(tmp_path)

    assert links["/static/vitrine.0123456789ab.css"] == (200, b"body { color: black; }")
    not_collected = [link for link in links if "vitrine" not in link]
    assert not_collected  # htmx, which the manifest does not list
    assert all(links[link][0] == 200 for link in not_collected)
