"""When the experiment rollups change: as events are stored, as a shopper is erased, and in a recount of every
rollup of a shop under its exclusive rollup lock."""

from collections.abc import Sequence

from django.db import connection, transaction

from catalog.models import ExperimentDay, ExperimentShopper, Shop, Shopper
from catalog.rollups import (
    event_rollups_rebuild,
    rollups_lock_exclusive,
    rollups_lock_shared,
)

from .counting import _count, _events
from .placement import _started, started_experiments

# Before a shopper's rows go: each day that counted them counts them no more, nor their revenue.
_SHOPPER_UNCOUNT = f"""
    UPDATE {ExperimentDay._meta.db_table} AS day SET
        visitors = day.visitors - gone.visitors, purchasers = day.purchasers - gone.purchasers,
        revenue = day.revenue - gone.revenue, revenue_squares = day.revenue_squares - gone.squares,
        pre_sum = day.pre_sum - gone.pre_sum, pre_squares = day.pre_squares - gone.pre_squares,
        pre_cross = day.pre_cross - gone.pre_cross
    FROM (
        SELECT shop_id, experiment_id, variant, first_day, count(*) FILTER (WHERE outcome = 'visit') AS visitors,
               count(*) FILTER (WHERE outcome = 'purchase') AS purchasers, sum(revenue) AS revenue,
               sum(revenue * revenue) AS squares, sum(pre_value) AS pre_sum, sum(pre_value * pre_value) AS pre_squares,
               sum("cross") AS pre_cross
        FROM {ExperimentShopper._meta.db_table} WHERE shop_id = %(shop)s AND shopper_id = %(shopper)s GROUP BY 1, 2, 3, 4
    ) gone
    WHERE day.shop_id = gone.shop_id AND day.experiment_id = gone.experiment_id AND day.variant = gone.variant
      AND day.day = gone.first_day AND day.rail = ''
"""


def shopper_uncount(*, shop: Shop, shopper: Shopper) -> None:
    """Take an erased shopper out of the experiment counts, before their rows are deleted."""
    with connection.cursor() as cursor:
        cursor.execute(_SHOPPER_UNCOUNT, {"shop": shop.pk, "shopper": shopper.pk})


def experiment_rollups_add(*, shop: Shop, event_ids: Sequence[int]) -> None:
    """Add these newly stored events of the shop to its experiment rollups, in the transaction that stored them."""
    started = started_experiments(shop)
    if not started or not event_ids:
        return
    rollups_lock_shared(shop_id=shop.pk)
    for rows in _events(shop, started, event_ids=event_ids):
        _count(shop, started, rows)


def experiment_rollups_rebuild(*, shop: Shop) -> None:
    """Recount the shop's experiment rollups from its events, keeping the pages served; the caller holds the
    shop's exclusive rollup lock (catalog.rollups.rollups_lock_exclusive) in a transaction."""
    ExperimentShopper.objects.filter(shop=shop).delete()
    ExperimentDay.objects.filter(shop=shop, pages=0).delete()
    ExperimentDay.objects.filter(shop=shop).update(
        clicks=0, add_to_carts=0, purchases=0, revenue=0, visitors=0, purchasers=0, revenue_squares=0, pre_sum=0,
        pre_squares=0, pre_cross=0,
    )
    started = _started(shop)
    if started:
        for rows in _events(shop, started, event_ids=None):
            _count(shop, started, rows)


def rollups_rebuild(*, shop: Shop) -> None:
    """Recount every rollup of the shop from its stored events (pages served, which no event records, are kept),
    while its batches wait: one that commits meanwhile is counted once, by the recount or after it."""
    with transaction.atomic():
        rollups_lock_exclusive(shop_id=shop.pk)
        event_rollups_rebuild(shop=shop)
        experiment_rollups_rebuild(shop=shop)
