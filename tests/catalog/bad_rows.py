"""Rows written around the API, by raw SQL, as an older version or a script could have stored them."""

import itertools

from django.db import connection

from catalog.models import Event, EventType

# PostgreSQL accepts each of these timestamps; Python's datetime holds none of them, or only at its very end.
YEAR_1_BC = "0001-01-01 00:00:00+05"  # stored as 0001-12-31 19:00 BC in UTC
PAST_YEAR_9999 = "9999-12-31 23:00:00-05"  # year 10000 in UTC
INFINITY = "infinity"
MINUS_INFINITY = "-infinity"
OUT_OF_WINDOW = (YEAR_1_BC, PAST_YEAR_9999, INFINITY, MINUS_INFINITY, "1999-12-31 23:59:59+00", "9999-06-01 00:00:00+00")

_ids = itertools.count()


def event_plant(*, shopper, item, occurred_at: str = "now", value: str | None = None, kind=EventType.PURCHASE, shop=None) -> str:
    """Store one event by raw SQL; `occurred_at` and `value` are SQL text ('infinity', 'NaN'). Returns its event_id."""
    event_id = f"planted-{next(_ids)}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} (shop_id, event_id, shopper_id, item_id, type, value, query, session_id,"
            " occurred_at, context, received_at)"
            " VALUES (%s, %s, %s, %s, %s, %s::float8, '', '', %s::timestamptz, '{}', now())",
            [(shop or shopper.shop).pk, event_id, shopper.pk, item.pk if item else None, kind, value, occurred_at],
        )
    return event_id
