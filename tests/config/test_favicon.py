"""Browsers find the mark: pages link the SVG, and /favicon.ico, which they ask for anyway, leads to it."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_svg_mark_which_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"
    mark = client.get(response["Location"])
    assert mark.status_code == 200 and mark["Content-Type"].startswith("image/svg+xml")
    assert b"".join(mark) == (settings.BASE_DIR / "static" / "favicon.svg").read_bytes()


def test_pages_link_the_mark(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


def test_favicon_ico_takes_only_get(client):
    assert client.post("/favicon.ico").status_code == 405
