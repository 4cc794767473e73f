"""Events into the experiment rollups: the counted events read in chunks, each attributed to its shopper's
variant and its rail (a purchase within its attribution window), and a batch's outcomes added to ExperimentDay
and its distinct visitors and purchasers to ExperimentShopper, with CUPED's sums."""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection

from catalog.bounds import event_window
from catalog.models import (
    Event,
    EventType,
    ExperimentDay,
    ExperimentShopper,
    Item,
    Shop,
    Shopper,
)
from catalog.rollups import RAIL_OF_EVENT, REVENUE_OF_EVENT
from catalog.selectors import sql_rows

from ..models import Experiment
from .placement import _arm_at, _Started

COUNTED_TYPES = (EventType.IMPRESSION, EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE)
# CUPED adjusts the per-visitor metrics by the same metric over these days before the start.
CUPED_METRICS = (Experiment.Metric.CONVERSION, Experiment.Metric.REVENUE_PER_VISITOR)
PRE_DAYS = 28
RECOUNT_CHUNK = 5000
_EVENTS_READ = f"""
    SELECT e.id, e.shopper_id, s.external_id, e.type, e.occurred_at,
           jsonb_typeof(e.context -> 'request_id') = 'string' AS exposure,
           CASE WHEN {RAIL_OF_EVENT} THEN e.context ->> 'rail' ELSE '' END AS rail,
           {REVENUE_OF_EVENT} AS revenue
    FROM {Event._meta.db_table} e
    JOIN {Shopper._meta.db_table} s ON s.id = e.shopper_id
    LEFT JOIN {Item._meta.db_table} i ON i.id = e.item_id
    WHERE e.shop_id = %(shop)s AND e.occurred_at BETWEEN %(earliest)s AND %(latest)s AND e.type = ANY(%(types)s)
      AND {{events}}
    ORDER BY e.id
"""
_EXPOSURES_READ = f"""
    SELECT shopper_id, occurred_at FROM {Event._meta.db_table}
    WHERE shop_id = %(shop)s AND shopper_id = ANY(%(shoppers)s) AND occurred_at BETWEEN %(since)s AND %(until)s
      AND jsonb_typeof(context -> 'request_id') = 'string'
    ORDER BY shopper_id, occurred_at
"""
_DAYS_ADD = f"""
    INSERT INTO {ExperimentDay._meta.db_table} AS kept
        (shop_id, experiment_id, variant, day, rail, pages, clicks, add_to_carts, purchases, revenue, visitors, purchasers,
         revenue_squares, pre_sum, pre_squares, pre_cross)
    SELECT %s, experiment_id, variant, day, rail, 0, clicks, add_to_carts, purchases, revenue, visitors, purchasers, squares,
           pre_sum, pre_squares, pre_cross
    FROM unnest(%s::bigint[], %s::varchar[], %s::date[], %s::varchar[], %s::bigint[], %s::bigint[], %s::bigint[],
                %s::numeric[], %s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[])
        AS batch(experiment_id, variant, day, rail, clicks, add_to_carts, purchases, revenue, visitors, purchasers, squares,
                 pre_sum, pre_squares, pre_cross)
    ORDER BY 2, 3, 4, 5
    ON CONFLICT (shop_id, experiment_id, variant, day, rail) DO UPDATE SET
        clicks = kept.clicks + excluded.clicks, add_to_carts = kept.add_to_carts + excluded.add_to_carts,
        purchases = kept.purchases + excluded.purchases, revenue = kept.revenue + excluded.revenue,
        visitors = kept.visitors + excluded.visitors, purchasers = kept.purchasers + excluded.purchasers,
        revenue_squares = kept.revenue_squares + excluded.revenue_squares, pre_sum = kept.pre_sum + excluded.pre_sum,
        pre_squares = kept.pre_squares + excluded.pre_squares, pre_cross = kept.pre_cross + excluded.pre_cross
"""
# A shopper already counted adds nothing, but a purchase adds its revenue to the purchaser's. What comes back:
# the rows inserted (xmax 0: first counted now) and the purchasers' rows updated, with their revenue after.
_SHOPPERS_ADD = f"""
    INSERT INTO {ExperimentShopper._meta.db_table} AS kept
        (shop_id, experiment_id, variant, outcome, shopper_id, first_day, revenue, pre_value, "cross")
    SELECT %s, *, 0 FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::bigint[], %s::date[], %s::numeric[],
                                %s::numeric[])
    ON CONFLICT (shop_id, experiment_id, variant, outcome, shopper_id) DO UPDATE SET revenue = kept.revenue + excluded.revenue
    WHERE excluded.revenue <> 0
    RETURNING experiment_id, variant, outcome, shopper_id, revenue, xmax = 0, pre_value
"""
# What a visitor bought in the weeks before the experiment: CUPED's covariate.
_PRE_READ = f"""
    SELECT e.shopper_id, coalesce(sum({REVENUE_OF_EVENT}), 0) FROM {Event._meta.db_table} e
    LEFT JOIN {Item._meta.db_table} i ON i.id = e.item_id
    WHERE e.shop_id = %(shop)s AND e.shopper_id = ANY(%(shoppers)s) AND e.type = 'purchase'
      AND e.occurred_at >= %(since)s AND e.occurred_at < %(until)s
    GROUP BY 1
"""
_VISITS_READ = f"""
    SELECT experiment_id, variant, shopper_id, pre_value FROM {ExperimentShopper._meta.db_table}
    WHERE shop_id = %s AND outcome = 'visit' AND (experiment_id, variant, shopper_id) IN (
        SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[]))
"""
_CROSS_ADD = f"""
    UPDATE {ExperimentShopper._meta.db_table} AS kept SET "cross" = kept."cross" + batch.added
    FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[], %s::numeric[]) AS batch(experiment_id, variant, shopper_id, added)
    WHERE kept.shop_id = %s AND kept.outcome = 'visit' AND kept.experiment_id = batch.experiment_id
      AND kept.variant = batch.variant AND kept.shopper_id = batch.shopper_id
"""


@dataclass
class _Outcomes:
    """One day's additions to a variant's row on a rail, its fields in the order of _DAYS_ADD's columns."""

    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0
    revenue: Decimal = field(default_factory=Decimal)
    visitors: int = 0
    purchasers: int = 0
    revenue_squares: Decimal = field(default_factory=Decimal)
    pre_sum: Decimal = field(default_factory=Decimal)
    pre_squares: Decimal = field(default_factory=Decimal)
    pre_cross: Decimal = field(default_factory=Decimal)

    def any(self) -> bool:
        return any(astuple(self))


@dataclass
class _Shopped:
    """A shopper's outcome in a variant, from one batch: the day of its first event there, and revenue."""

    day: date
    revenue: Decimal = field(default_factory=Decimal)


def _exposures(shop: Shop, purchases: list[tuple], longest_window: timedelta) -> dict[int, list[datetime]]:
    """Times of each purchasing shopper's events from a served page, from the earliest window's start on."""
    if not purchases:
        return {}
    params = {
        "shop": shop.pk, "shoppers": list({row[1] for row in purchases}),
        "since": min(row[4] for row in purchases) - longest_window, "until": max(row[4] for row in purchases),
    }
    found: dict[int, list[datetime]] = defaultdict(list)
    for shopper_id, occurred_at in sql_rows(_EXPOSURES_READ, params):
        found[shopper_id].append(occurred_at)
    return found


def _exposed(times: list[datetime], *, since: datetime, until: datetime) -> bool:
    at = bisect_left(times, since)
    return at < len(times) and times[at] <= until


def _count(shop: Shop, started: list[_Started], rows: list[tuple]) -> None:
    """Add these events (rows of _EVENTS_READ) to the shop's experiment rollups."""
    days: dict[tuple[int, str, date, str], _Outcomes] = defaultdict(_Outcomes)
    shoppers: dict[tuple[int, str, str, int], _Shopped] = {}
    placed_rows = []
    for row in rows:
        arm = _arm_at(shop, started, row[2], row[4])
        if arm is not None:
            placed_rows.append((row, *arm))
    purchases = [row for row, _, _ in placed_rows if row[3] == EventType.PURCHASE]
    longest = max((timedelta(hours=one.experiment.attribution_window_hours) for one in started), default=timedelta(0))
    exposures = _exposures(shop, purchases, longest)
    for (_, shopper_id, _, event_type, occurred_at, exposure, rail, revenue), placed, variant in placed_rows:
        experiment = placed.experiment
        day = occurred_at.date()
        if exposure:
            _shopped(shoppers, (experiment.pk, variant, ExperimentShopper.Outcome.VISIT, shopper_id), day)
        outcomes = days[(experiment.pk, variant, day, rail)]
        if event_type == EventType.CLICK and rail:
            outcomes.clicks += 1
        elif event_type == EventType.ADD_TO_CART and rail:
            outcomes.add_to_carts += 1
        elif event_type == EventType.PURCHASE:
            since = max(occurred_at - timedelta(hours=experiment.attribution_window_hours), experiment.started_at)
            if exposure or _exposed(exposures.get(shopper_id, []), since=since, until=occurred_at):
                outcomes.purchases += 1
                outcomes.revenue += revenue or 0
                _shopped(shoppers, (experiment.pk, variant, ExperimentShopper.Outcome.PURCHASE, shopper_id), day, revenue)
    _shoppers_count(shop, {one.experiment.pk: one.experiment for one in started}, shoppers, days)
    counted = {key: outcomes for key, outcomes in days.items() if outcomes.any()}
    if counted:
        keys, values = list(counted), list(counted.values())
        with connection.cursor() as cursor:
            cursor.execute(_DAYS_ADD, [
                shop.pk, *([key[part] for key in keys] for part in range(4)),
                *([getattr(one, column.name) for one in values] for column in fields(_Outcomes)),
            ])


def _shopped(shoppers: dict, key: tuple[int, str, str, int], day: date, revenue: Decimal | None = None) -> None:
    shopped = shoppers.setdefault(key, _Shopped(day=day))
    shopped.day = min(shopped.day, day)
    shopped.revenue += revenue or 0


def _pre_values(shop: Shop, experiments: dict[int, Experiment], keys: list[tuple[int, str, str, int]]) -> dict:
    """CUPED's covariate of each visit key's shopper: their primary metric over the PRE_DAYS before the experiment
    started (whether they bought, for conversion; what they spent, for revenue per visitor; none otherwise)."""
    values = {}
    by_experiment = defaultdict(set)
    for experiment_id, _, outcome, shopper_id in keys:
        if outcome == ExperimentShopper.Outcome.VISIT and experiments[experiment_id].primary_metric in CUPED_METRICS:
            by_experiment[experiment_id].add(shopper_id)
    for experiment_id, shopper_ids in by_experiment.items():
        experiment = experiments[experiment_id]
        conversion = experiment.primary_metric == Experiment.Metric.CONVERSION
        params = {"shop": shop.pk, "shoppers": list(shopper_ids), "until": experiment.started_at,
                  "since": experiment.started_at - timedelta(days=PRE_DAYS)}
        for shopper_id, spent in sql_rows(_PRE_READ, params):
            values[(experiment_id, shopper_id)] = Decimal(1) if conversion else spent
    return values


def _shoppers_count(
    shop: Shop, experiments: dict[int, Experiment], shoppers: dict[tuple[int, str, str, int], _Shopped], days: dict,
) -> None:
    """Add the batch's shoppers to ExperimentShopper, and to `days` those counted for the first time, what their
    revenue adds to the sum of squares, and CUPED's sums (on rail "" of the day of their first event in the batch)."""
    if not shoppers:
        return
    ordered = sorted(shoppers)
    pre = _pre_values(shop, experiments, ordered)
    with connection.cursor() as cursor:
        cursor.execute(_SHOPPERS_ADD, [
            shop.pk, *([key[part] for key in ordered] for part in range(4)),
            [shoppers[key].day for key in ordered], [shoppers[key].revenue for key in ordered],
            [pre.get((key[0], key[3]), Decimal(0)) if key[2] == ExperimentShopper.Outcome.VISIT else Decimal(0) for key in ordered],
        ])
        changed = cursor.fetchall()
    grown = {}  # (experiment, variant, shopper) of a purchaser: how much their metric grew in this batch
    for experiment_id, variant, outcome, shopper_id, revenue, inserted, pre_value in changed:
        shopped = shoppers[(experiment_id, variant, outcome, shopper_id)]
        outcomes = days[(experiment_id, variant, shopped.day, "")]
        if inserted and outcome == ExperimentShopper.Outcome.VISIT:
            outcomes.visitors += 1
            outcomes.pre_sum += pre_value
            outcomes.pre_squares += pre_value * pre_value
        elif inserted:
            outcomes.purchasers += 1
        before = revenue - shopped.revenue
        outcomes.revenue_squares += revenue * revenue - before * before
        if outcome == ExperimentShopper.Outcome.PURCHASE:
            metric = experiments[experiment_id].primary_metric
            growth = shopped.revenue if metric == Experiment.Metric.REVENUE_PER_VISITOR else Decimal(int(inserted))
            grown[(experiment_id, variant, shopper_id)] = (shopped.day, growth)
    _cross_count(shop, grown, days)


def _cross_count(shop: Shop, grown: dict[tuple[int, str, int], tuple[date, Decimal]], days: dict) -> None:
    """Add x times the growth of each purchaser's metric to their visit row and to CUPED's sum of the day."""
    grown = {key: value for key, value in grown.items() if value[1]}
    if not grown:
        return
    keys = sorted(grown)
    visits = sql_rows(_VISITS_READ, [shop.pk, *([key[part] for key in keys] for part in range(3))])
    added = {(experiment_id, variant, shopper_id): pre_value * grown[(experiment_id, variant, shopper_id)][1]
             for experiment_id, variant, shopper_id, pre_value in visits if pre_value}
    if not added:
        return
    for key, value in added.items():
        days[(key[0], key[1], grown[key][0], "")].pre_cross += value
    keys = sorted(added)
    with connection.cursor() as cursor:
        cursor.execute(_CROSS_ADD, [*([key[part] for key in keys] for part in range(3)), [added[key] for key in keys], shop.pk])


def _events(shop: Shop, started: list[_Started], *, event_ids: Sequence[int] | None) -> Iterator[list[tuple]]:
    """The shop's counted events, these or all of them since its first experiment started, in chunks."""
    earliest, latest = event_window()
    earliest = max(earliest, min(one.experiment.started_at for one in started))
    params = {"shop": shop.pk, "earliest": earliest, "latest": latest, "types": list(COUNTED_TYPES)}
    if event_ids is not None:
        yield sql_rows(_EVENTS_READ.format(events="e.id = ANY(%(ids)s)"), {**params, "ids": list(event_ids)})
        return
    after = 0
    while True:
        chunk = sql_rows(
            _EVENTS_READ.format(events="e.id > %(after)s") + f" LIMIT {RECOUNT_CHUNK}", {**params, "after": after}
        )
        if not chunk:
            return
        yield chunk
        after = chunk[-1][0]
