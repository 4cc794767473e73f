"""Rollups of stored events: per shop, rail and hour (impressions, clicks, add-to-carts, purchases, revenue) and
per shop, hour and event type. The console reads these rather than scanning events' JSON context per request.

They are kept as events are stored, in the batch's own transaction (catalog.signals.events_stored): a rollup
commits with its events or not at all, so it always equals a recount. One SQL statement per table and batch,
grouped per key, adds the batch to the rows already there; the same statement over all of a shop's events is
the recount `manage.py rollups_rebuild` runs. Page serves are counted apart, at serve time (homepage.rollups):
no event records them, so a recount keeps them.

Concurrent batches of a shop take a shared lock and a recount an exclusive one: a batch committing while a
shop is recounted would otherwise be counted twice, by the recount and by its own increment.
"""

from collections.abc import Sequence

from django.db import connection

from .bounds import event_window
from .models import Event, EventHour, EventType, Item, RailHour, Shop
from .validation import MAX_QUANTITY

RAIL_KEY_MAX_LENGTH = RailHour._meta.get_field("rail").max_length
RAIL_TYPES = (EventType.IMPRESSION, EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE)
# The namespace of the shop's rollup lock among PostgreSQL's advisory locks (two keys: this, the shop's pk).
_LOCK_NAMESPACE = 0x726F6C6C  # "roll"

# Of the stored events the count runs over: a batch's by their ids, or the shop's all for a recount.
_BATCH = "e.id = ANY(%(ids)s)"
_SHOP = "e.shop_id = %(shop)s"

# A rail is attributed only by the key a homepage handed out, a string as long as a rail's key at most.
RAIL_OF_EVENT = (
    f"jsonb_typeof(e.context -> 'rail') = 'string' AND char_length(e.context ->> 'rail') BETWEEN 1 AND {RAIL_KEY_MAX_LENGTH}"
)
# value is a quantity (1 when not sent); the bounds keep a row written around the API from breaking the sum.
# Rounded per event to the cent, so that sums of batches and one sum over all the events agree to the cent.
REVENUE_OF_EVENT = f"""
    CASE WHEN e.type = 'purchase' AND coalesce(e.value, 1) BETWEEN 0 AND {MAX_QUANTITY}
         THEN round(coalesce(e.value, 1)::numeric * i.price, 2) END
"""

_RAIL_COUNT = f"""
    INSERT INTO {RailHour._meta.db_table} AS kept (shop_id, rail, hour, pages, impressions, clicks, add_to_carts, purchases, revenue)
    SELECT e.shop_id, e.context ->> 'rail', date_trunc('hour', e.occurred_at), 0,
           count(*) FILTER (WHERE e.type = 'impression'), count(*) FILTER (WHERE e.type = 'click'),
           count(*) FILTER (WHERE e.type = 'add_to_cart'), count(*) FILTER (WHERE e.type = 'purchase'),
           coalesce(sum({REVENUE_OF_EVENT}), 0)
    FROM {Event._meta.db_table} e LEFT JOIN {Item._meta.db_table} i ON i.id = e.item_id
    WHERE {{events}} AND e.occurred_at BETWEEN %(earliest)s AND %(latest)s AND e.type = ANY(%(rail_types)s)
      AND {RAIL_OF_EVENT}
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (shop_id, rail, hour) DO UPDATE SET
        impressions = kept.impressions + excluded.impressions, clicks = kept.clicks + excluded.clicks,
        add_to_carts = kept.add_to_carts + excluded.add_to_carts, purchases = kept.purchases + excluded.purchases,
        revenue = kept.revenue + excluded.revenue
"""

_TYPE_COUNT = f"""
    INSERT INTO {EventHour._meta.db_table} AS kept (shop_id, hour, type, events)
    SELECT e.shop_id, date_trunc('hour', e.occurred_at), e.type, count(*)
    FROM {Event._meta.db_table} e
    WHERE {{events}} AND e.occurred_at BETWEEN %(earliest)s AND %(latest)s
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (shop_id, hour, type) DO UPDATE SET events = kept.events + excluded.events
"""

# A recount keeps what events cannot recount (pages served) and zeroes the rest before adding every event.
_RESET = (
    f"DELETE FROM {RailHour._meta.db_table} WHERE shop_id = %(shop)s AND pages = 0",
    (
        f"UPDATE {RailHour._meta.db_table} SET impressions = 0, clicks = 0, add_to_carts = 0, purchases = 0, revenue = 0"
        " WHERE shop_id = %(shop)s"
    ),
    f"DELETE FROM {EventHour._meta.db_table} WHERE shop_id = %(shop)s",
)


def rollups_lock_shared(*, shop_id: int) -> None:
    """Held by a batch's rollup writes until its transaction ends; a recount of the shop waits for them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [_LOCK_NAMESPACE, shop_id])


def rollups_lock_exclusive(*, shop_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, shop_id])


def _count(*, events: str, params: dict) -> None:
    earliest, latest = event_window()
    params = {**params, "earliest": earliest, "latest": latest, "rail_types": list(RAIL_TYPES)}
    with connection.cursor() as cursor:
        cursor.execute(_RAIL_COUNT.format(events=events), params)
        cursor.execute(_TYPE_COUNT.format(events=events), params)


def event_rollups_add(*, shop: Shop, event_ids: Sequence[int]) -> None:
    """Add these newly stored events of the shop to its rollups; run inside the transaction that stored them."""
    if not event_ids:
        return
    rollups_lock_shared(shop_id=shop.pk)
    _count(events=f"{_SHOP} AND {_BATCH}", params={"shop": shop.pk, "ids": list(event_ids)})


def event_rollups_rebuild(*, shop: Shop) -> None:
    """Recount the shop's event rollups from its stored events; the caller holds the exclusive lock in a transaction."""
    with connection.cursor() as cursor:
        for statement in _RESET:
            cursor.execute(statement, {"shop": shop.pk})
    _count(events=_SHOP, params={"shop": shop.pk})
