from contextlib import nullcontext
from datetime import datetime

import psycopg
from django.db import connection
from django.db.models import Q, QuerySet

from .bounds import event_window
from .models import Event, Item, ItemRemoval, Shop, Shopper


def item_get(*, shop: Shop, external_id: str) -> Item | None:
    return Item.objects.filter(shop=shop, external_id=external_id).first()


def sql_rows(sql: str, params) -> list[tuple]:
    """Rows of one raw query. The storefront's per-request reads use it: compiling their small queries
    through the ORM took three to four times as long as running them.

    The parameters are bound by the server, so that each statement is prepared once per connection
    (DATABASES OPTIONS prepare_threshold) and planned no more: that nearly halves what these reads cost.
    Django's own cursors bind on the client and never prepare. Django's wrapper still wraps errors; where
    queries are logged, the statement is logged as written, since a prepared one keeps no text to log.
    """
    connection.ensure_connection()
    bound = psycopg.Cursor(connection.connection)
    logged = connection.make_debug_cursor(bound).debug_sql(sql, params) if connection.queries_logged else nullcontext()
    with connection.make_cursor(bound) as cursor, logged:
        cursor.execute(sql, params)
        return cursor.fetchall()


def item_ids(*, shop: Shop, external_ids) -> dict[str, int]:
    """Primary keys of the shop's items with these storefront ids, by id; unknown ids are left out."""
    # One array parameter: the same statement whatever the batch size.
    sql = f"SELECT external_id, id FROM {Item._meta.db_table} WHERE shop_id = %s AND external_id = ANY(%s)"
    return dict(sql_rows(sql, [shop.pk, list(external_ids)]))


# Rails belong to merchandising, which imports catalog: catalog reads their table by name, not through the
# model (tests/catalog/test_api_events.py holds the name to merchandising's).
RAIL_TABLE = "merchandising_rail"


def rail_keys(*, shop: Shop) -> set[str]:
    """The keys of the shop's rails, disabled ones too: an event may come back from a page served before."""
    return {key for (key,) in sql_rows(f"SELECT key FROM {RAIL_TABLE} WHERE shop_id = %s", [shop.pk])}


def shoppers_found(*, shop: Shop, external_ids) -> dict[str, tuple[int, bool]]:
    """(primary key, opted out) of the shop's shoppers with these storefront ids, by id; unknown ids are left out."""
    sql = (
        f"SELECT external_id, id, personalization_opt_out FROM {Shopper._meta.db_table}"
        " WHERE shop_id = %s AND external_id = ANY(%s)"
    )
    return {external_id: (pk, opt_out) for external_id, pk, opt_out in sql_rows(sql, [shop.pk, list(external_ids)])}


def event_ids_stored(*, shop: Shop, event_ids) -> set[str]:
    """Which of these storefront event ids the shop has stored already."""
    sql = f"SELECT event_id FROM {Event._meta.db_table} WHERE shop_id = %s AND event_id = ANY(%s)"
    return {event_id for event_id, in sql_rows(sql, [shop.pk, list(event_ids)])}


def events_out_of_window(*, shop: Shop | None, now: datetime | None = None) -> QuerySet[Event]:
    """The shop's (or, for None, every shop's) events whose occurred_at lies outside catalog.bounds' window.

    Never fetch their occurred_at: Python cannot hold year 1 BC or 'infinity'. Count them, delete them, or
    read their other columns.
    """
    earliest, latest = event_window(now=now)
    events = Event.objects.filter(Q(occurred_at__lt=earliest) | Q(occurred_at__gt=latest))
    return events if shop is None else events.filter(shop=shop)


def change_watermark() -> int:
    """The oldest transaction id still running: every write of an older transaction is committed (or undone) by now,
    so a reader that reads the rows stamped from this id on, next time, misses none (`Item.change_xid`)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def item_changes(*, shop: Shop, since: int, fields: tuple[str, ...]) -> tuple[list[Item], list[int]]:
    """The shop's items written, and the pks of those deleted, by transactions from `since` on (a watermark)."""
    written = list(Item.objects.filter(shop=shop, change_xid__gte=since).only(*fields))
    removed = list(ItemRemoval.objects.filter(shop_id=shop.pk, change_xid__gte=since).values_list("item_id", flat=True))
    return written, removed
