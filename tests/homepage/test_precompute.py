import time
from io import StringIO

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Item
from config.celery import app
from config.queues import Queue
from homepage.services import homepage_layout, homepages_precompute
from tests.factories import ShopperFactory
from tests.homepage.helpers import record


def _tables_read(shop, external_id) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        homepage_layout(shop=shop, shopper_external_id=external_id)
    return [query["sql"].split(" FROM ")[1].split()[0].strip('"') for query in queries.captured_queries if " FROM " in query["sql"]]


CACHE_HIT = ["catalog_item"]  # the availability check alone


def _shoppers(shop):
    """Four shoppers who each viewed an item: the latest first, then two older ones, then one who opted out."""
    mask = Item.objects.get(shop=shop, title="Clay face mask")
    shoppers = {}
    for name, minutes_ago, opt_out in [("latest", 1, False), ("earlier", 30, False), ("oldest", 600, False), ("private", 0, True)]:
        shopper = shoppers[name] = ShopperFactory(shop=shop, external_id=name, personalization_opt_out=opt_out)
        record(shopper, mask, minutes_ago=minutes_ago)
    return shoppers


@pytest.mark.django_db
def test_the_most_recently_active_shoppers_pages_are_cached_ahead_of_their_visit(served):
    _shoppers(served)

    assert homepages_precompute(shop=served, days=1, limit=2) == 2

    assert _tables_read(served, "latest") == CACHE_HIT
    assert _tables_read(served, "earlier") == CACHE_HIT
    assert len(_tables_read(served, "oldest")) > len(CACHE_HIT)  # past the limit: composed on request
    assert len(_tables_read(served, "private")) > len(CACHE_HIT)  # opted out: never precomputed


@pytest.mark.django_db
def test_a_precomputed_page_gives_way_to_the_shoppers_next_event(served, storefront_a):
    _shoppers(served)
    homepages_precompute(shop=served, days=1, limit=1)
    perfume = Item.objects.get(shop=served, title="Amber perfume")

    event = {"event_id": "p-1", "shopper_id": "latest", "item_id": perfume.external_id, "type": "view",
             "occurred_at": timezone.now().isoformat()}
    assert storefront_a.post("/api/v1/events", [event], format="json").json()["created"] == 1
    page = storefront_a.get("/api/v1/homepage/latest").json()

    titles = [rail["title"] for rail in page["rails"]]
    assert "Because you viewed Amber perfume" in titles


@pytest.mark.django_db(transaction=True)
def test_the_schedule_precomputes_every_shops_pages_on_a_real_worker(served):
    _shoppers(served)

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.DEFAULT, Queue.SCORE], shutdown_timeout=30):
        app.send_task("homepage.tasks.homepages_scheduled_task")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _tables_read(served, "oldest") != CACHE_HIT:
            time.sleep(0.5)

    assert _tables_read(served, "latest") == CACHE_HIT
    assert _tables_read(served, "oldest") == CACHE_HIT


@pytest.mark.django_db
def test_the_command_reports_what_it_cached_and_refuses_an_unknown_shop(served):
    _shoppers(served)
    out = StringIO()

    call_command("precompute_homepages", shop=served.slug, limit=2, stdout=out)

    assert f"Cached the homepages of 2 shoppers of '{served.slug}'." in out.getvalue()
    assert _tables_read(served, "earlier") == CACHE_HIT
    with pytest.raises(CommandError, match="No shop 'nowhere'"):
        call_command("precompute_homepages", shop="nowhere")
