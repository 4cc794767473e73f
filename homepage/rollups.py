"""Pages served, counted at serve time into the rollups that events cannot recount: per shop, rail and hour
(catalog.models.RailHour.pages) and per experiment variant, day and rail (ExperimentDay.pages); in both, rail ""
is the page as a whole.

A serve adds its counts to one hash in the cache's Redis, in one round trip; `rollup_pages_flush` (every minute,
config.schedule) moves them into the tables. That Redis keeps nothing on disk: a restart loses at most the
counts since the last flush, and while it cannot be reached pages are served uncounted, never refused.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

from django.core.cache import cache
from django.db import connection, transaction
from redis.exceptions import RedisError

from catalog.models import ExperimentDay, RailHour, Shop

logger = logging.getLogger(__name__)

PAGES_KEY = "rollups:pages"
FLUSHING_KEY = "rollups:pages:flushing"
FLUSH_LOCK_KEY = "rollups:pages:flush-lock"
FLUSH_LOCK_SECONDS = 300
_SEPARATOR = "|"  # never in a rail or variant key: both are slugs

_RAIL_PAGES_ADD = f"""
    INSERT INTO {RailHour._meta.db_table} AS kept (shop_id, rail, hour, pages, impressions, clicks, add_to_carts, purchases, revenue)
    SELECT batch.shop_id, batch.rail, batch.hour, batch.pages, 0, 0, 0, 0, 0
    FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::bigint[]) AS batch(shop_id, rail, hour, pages)
    JOIN {Shop._meta.db_table} shop ON shop.id = batch.shop_id
    ORDER BY 1, 2, 3
    ON CONFLICT (shop_id, rail, hour) DO UPDATE SET pages = kept.pages + excluded.pages
"""
_VARIANT_PAGES_ADD = f"""
    INSERT INTO {ExperimentDay._meta.db_table} AS kept
        (shop_id, experiment_id, variant, day, rail, pages, clicks, add_to_carts, purchases, revenue)
    SELECT batch.shop_id, batch.experiment_id, batch.variant, batch.day, batch.rail, batch.pages, 0, 0, 0, 0
    FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::date[], %s::varchar[], %s::bigint[])
        AS batch(shop_id, experiment_id, variant, day, rail, pages)
    JOIN {Shop._meta.db_table} shop ON shop.id = batch.shop_id
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (shop_id, experiment_id, variant, day, rail) DO UPDATE SET pages = kept.pages + excluded.pages
"""


def _fields(*, shop: Shop, rail_keys: Sequence[str], experiment_id: int | None, variant: str | None, at: datetime) -> list[str]:
    at = at.astimezone(UTC)
    # Rail "" is the page as a whole, as in the variants' rows.
    fields = [_SEPARATOR.join(("rail", str(shop.pk), at.strftime("%Y-%m-%dT%H"), rail)) for rail in ("", *rail_keys)]
    if experiment_id is not None:
        day = at.date().isoformat()
        fields += [
            _SEPARATOR.join(("variant", str(shop.pk), str(experiment_id), variant, day, rail)) for rail in ("", *rail_keys)
        ]
    return fields


def page_served_count(
    *, shop: Shop, rail_keys: Sequence[str], experiment_id: int | None, variant: str | None, at: datetime
) -> None:
    """Count one page served to a storefront, showing these rails, in this experiment variant (or none)."""
    fields = _fields(shop=shop, rail_keys=rail_keys, experiment_id=experiment_id, variant=variant, at=at)
    if not fields:
        return
    key = cache.make_key(PAGES_KEY)

    def add() -> None:
        pipeline = cache._cache.get_client(write=True).pipeline(transaction=False)
        for name in fields:
            pipeline.hincrby(key, name, 1)
        pipeline.execute()

    # Through the cache's own outage handling: a Redis that is gone costs a serve nothing for a second at a time.
    cache._cache._attempt(add, (), miss=None)


def _rows(counts: dict[bytes, bytes]) -> tuple[list[list], list[list]]:
    """Column arrays of the rail rows and of the variant rows of a flushed hash."""
    rails: dict[tuple[int, str, datetime], int] = defaultdict(int)
    variants: dict[tuple[int, int, str, date, str], int] = defaultdict(int)
    for name, count in counts.items():
        kind, *parts = name.decode().split(_SEPARATOR)
        if kind == "rail":
            shop_id, hour, rail = parts
            rails[(int(shop_id), rail, datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC))] += int(count)
        else:
            shop_id, experiment_id, variant, day, rail = parts
            variants[(int(shop_id), int(experiment_id), variant, date.fromisoformat(day), rail)] += int(count)
    return (
        [[key[part] for key in rails] for part in range(3)] + [list(rails.values())],
        [[key[part] for key in variants] for part in range(5)] + [list(variants.values())],
    )


def rollup_pages_flush() -> int:
    """Move the pages counted in Redis into the rollup tables; returns how many counters moved. A flush that
    died midway left its counts under FLUSHING_KEY: the next one moves them first."""
    if not cache.add(FLUSH_LOCK_KEY, 1, FLUSH_LOCK_SECONDS):
        return 0
    client = cache._cache.get_client(write=True)
    pending, flushing = cache.make_key(PAGES_KEY), cache.make_key(FLUSHING_KEY)
    try:
        if not client.exists(flushing):
            if not client.exists(pending):
                return 0
            client.rename(pending, flushing)
        counts = client.hgetall(flushing)
        rail_rows, variant_rows = _rows(counts)
        with transaction.atomic(), connection.cursor() as cursor:
            if rail_rows[0]:
                cursor.execute(_RAIL_PAGES_ADD, rail_rows)
            if variant_rows[0]:
                cursor.execute(_VARIANT_PAGES_ADD, variant_rows)
        client.delete(flushing)
        return len(counts)
    except RedisError:
        logger.warning("Pages served could not be moved from the cache now; the next flush moves them", exc_info=True)
        return 0
    finally:
        cache.delete(FLUSH_LOCK_KEY)
