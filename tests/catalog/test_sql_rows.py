from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Event, EventType, Item, Shopper
from catalog.selectors import sql_rows
from homepage.selectors import shopper_get, shopper_page_events


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for statement, in cursor.fetchall()]


@pytest.mark.django_db
def test_a_storefront_read_is_prepared_on_its_connection_after_a_few_runs(shop_a):
    Shopper.objects.create(shop=shop_a, external_id="regular")
    assert not any("external_id" in statement for statement in _prepared_statements())

    for _ in range(6):
        assert shopper_get(shop=shop_a, external_id="regular").external_id == "regular"

    assert any("external_id = $2" in statement for statement in _prepared_statements())
    assert shopper_get(shop=shop_a, external_id="regular").external_id == "regular"  # served by the prepared statement


@pytest.mark.django_db
def test_prepared_reads_return_the_same_rows_and_aware_times_as_the_first_runs(shop_a):
    shopper = Shopper.objects.create(shop=shop_a, external_id="s1")
    item = Item.objects.create(shop=shop_a, external_id="i1", title="Lipstick")
    occurred = timezone.now() - timedelta(hours=1)
    Event.objects.create(shop=shop_a, shopper=shopper, item=item, type=EventType.VIEW, occurred_at=occurred, event_id="e1")

    runs = [shopper_page_events(shopper=shopper, limit=50, since=occurred - timedelta(days=30)) for _ in range(7)]

    assert all(run == runs[0] for run in runs)
    (item_pk, kind, occurred_at, _, latest), = runs[0]
    assert (item_pk, kind, occurred_at, latest) == (item.pk, EventType.VIEW, occurred, True)
    assert occurred_at.utcoffset() == timedelta(0)


@pytest.mark.django_db
def test_a_read_is_logged_with_its_statement_and_its_errors_are_djangos(shop_a):
    with CaptureQueriesContext(connection) as queries:
        shopper_get(shop=shop_a, external_id="nobody")
    assert "FROM catalog_shopper" in queries.captured_queries[-1]["sql"]

    with pytest.raises(DatabaseError):
        sql_rows("SELECT no_such_column FROM catalog_shopper", [])
