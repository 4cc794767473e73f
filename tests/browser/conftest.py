"""Browser tests: Playwright drives Debian's Chromium (bin/setup-browser installs it) against a live server on
the real embedded PostgreSQL and Redis. Every test leaves a full-page screenshot in
test-artifacts/screenshots/<test name>.png, passed or failed."""

import os
import re

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("VITRINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def browser(django_db_setup):
    """One Chromium for the whole browser package: starting it costs a second, a context per test isolates."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium is missing at {CHROMIUM} and could not be installed: run bin/setup-browser as root")
    # Playwright's sync API keeps its asyncio loop marked as running in this thread (it reaches it through
    # greenlets), so Django takes the test for async code: it refuses ORM calls, and gives this thread a second
    # set of database connections, as it gives async code. Nothing runs concurrently (the loop only waits on
    # the browser while the test is blocked), so while the loop lives ORM calls are allowed (tests outside
    # this package keep Django's check), and the new connections get the migrated state the test database
    # was serialized into, which each test's serialized rollback restores.
    serialized = {alias: connections[alias]._test_serialized_contents for alias in connections
                  if hasattr(connections[alias], "_test_serialized_contents")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            for alias, contents in serialized.items():
                connections[alias]._test_serialized_contents = contents
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            expect.set_options(timeout=TIMEOUT_MS)
            yield chromium
            chromium.close()
            connections.close_all()  # an open one would keep the test database from being dropped


@pytest.fixture
def context(browser, live_server, django_db_serialized_rollback):
    """A fresh browser profile on the live server. The live server needs a transactional database, whose
    flush after each test would also drop the groups the migrations create: the serialized rollback
    brings them back before each test."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context, request):
    page = context.new_page()
    yield page
    folder = request.config.rootpath / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    page.screenshot(path=folder / f"{name}.png", full_page=True)


@pytest.fixture
def console(context, page, merchandiser_a, live_server):
    """A page of alice, a merchandiser of shop A, already logged in. The login form has its own test; here
    the session is made server-side and handed to the browser as its cookie, because each test's
    database is flushed after it, so a browser state saved by an earlier test names a session that no
    longer exists."""
    client = Client()
    client.force_login(merchandiser_a)
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": session.key, "value": session.value, "url": live_server.url}])
    return page
