"""Reads the homepage needs beyond the models and the catalog snapshot: event counts, co-occurrence, rail metrics.

Every read of events keeps to catalog.bounds' window in SQL: a row written around the API with a timestamp
Python cannot hold (year 1 BC, 'infinity') is never fetched, and one far in the future counts nowhere.
"""

import time
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Count, FloatField, Q, Sum, Value, When
from django.utils import timezone

from catalog.bounds import event_latest, event_window
from catalog.models import Event, EventType, Item, RailHour, Shop, Shopper
from catalog.selectors import sql_rows
from recommender.models import ModelVersion
from recommender.selectors import active_versions

from .cache import ProcessCopies, models_token, shop_identity

Ranked = list[tuple[int, float]]

POPULARITY_DAYS = 90
TRENDING_WINDOW_DAYS = 7
TRENDING_BASELINE_DAYS = 30
CO_OCCURRENCE_DAYS = 180
CO_OCCURRENCE_SHOPPERS = 2000
RARELY_SHOWN_DAYS = 30
# Counts over a shop's recent events are shared by every shopper: computed once per shop this often.
SHOP_COUNTS_SECONDS = 600
INTEREST_TYPES = (EventType.VIEW, EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE, EventType.RATING)
BASKET_TYPES = (EventType.ADD_TO_CART, EventType.PURCHASE)


def _weight(shop: Shop):
    return Case(
        *[When(type=kind, then=Value(shop.event_weight(kind))) for kind in INTEREST_TYPES],
        default=Value(0.0),
        output_field=FloatField(),
    )


# Every composed page asks for them: each process keeps the counts it read for a minute more.
PROCESS_COUNTS_SECONDS = 60
_process_counts: dict[str, tuple[float, object]] = {}  # by cache key: (when read, counts)


def _shop_cached(shop: Shop, name: str, compute):
    key = f"homepage:{name}:{shop_identity(shop)}"
    kept = _process_counts.get(key)
    if kept is not None and time.monotonic() - kept[0] < PROCESS_COUNTS_SECONDS:
        return kept[1]
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, SHOP_COUNTS_SECONDS)
    _process_counts[key] = (time.monotonic(), value)
    return value


def popularity_from_counts(*, shop: Shop, now: datetime, k: int = 200) -> Ranked:
    """Weighted interest events of the last 90 days per item: popularity when no model serves yet."""

    def compute() -> Ranked:
        rows = (
            Event.objects.filter(
                shop=shop, item__isnull=False, type__in=INTEREST_TYPES,
                occurred_at__range=(now - timedelta(days=POPULARITY_DAYS), event_latest(now=now)),
            )
            .values("item_id")
            .annotate(score=Sum(_weight(shop)))
            .order_by("-score", "item_id")[:k]
        )
        return [(row["item_id"], float(row["score"])) for row in rows]

    return _shop_cached(shop, "popularity", compute)


def trending_from_counts(*, shop: Shop, now: datetime, k: int = 200) -> Ranked:
    """Items whose last-week rate beats their rate of the 30 days before, smoothed by one event."""

    def compute() -> Ranked:
        window_start = now - timedelta(days=TRENDING_WINDOW_DAYS)
        rows = (
            Event.objects.filter(
                shop=shop, item__isnull=False, type__in=INTEREST_TYPES,
                occurred_at__range=(window_start - timedelta(days=TRENDING_BASELINE_DAYS), event_latest(now=now)),
            )
            .values("item_id")
            .annotate(
                recent=Sum(Case(When(occurred_at__gte=window_start, then=_weight(shop)), default=Value(0.0), output_field=FloatField())),
                before=Sum(Case(When(occurred_at__lt=window_start, then=_weight(shop)), default=Value(0.0), output_field=FloatField())),
            )
        )
        trends = []
        for row in rows:
            expected = row["before"] * TRENDING_WINDOW_DAYS / TRENDING_BASELINE_DAYS
            if row["recent"] > expected:
                trends.append((row["item_id"], (row["recent"] + 1.0) / (expected + 1.0)))
        trends.sort(key=lambda pair: (-pair[1], pair[0]))
        return trends[:k]

    return _shop_cached(shop, "trending", compute)


def co_occurring_items(
    *, shop: Shop, item_pks: list[int], types=BASKET_TYPES, exclude_shopper: Shopper | None = None, now: datetime, k: int = 200
) -> Ranked:
    """Items that other shoppers who had `item_pks` (through `types` events) had too, by how many shoppers."""
    if not item_pks:
        return []
    window = (now - timedelta(days=CO_OCCURRENCE_DAYS), event_latest(now=now))
    anchors = Event.objects.filter(shop=shop, item_id__in=item_pks, type__in=types, occurred_at__range=window)
    if exclude_shopper is not None:
        anchors = anchors.exclude(shopper=exclude_shopper)
    shoppers = anchors.order_by().values("shopper_id").distinct()[:CO_OCCURRENCE_SHOPPERS]
    rows = (
        Event.objects.filter(shop=shop, shopper_id__in=shoppers, type__in=types, item__isnull=False, occurred_at__range=window)
        .exclude(item_id__in=item_pks)
        .values("item_id")
        .annotate(shoppers=Count("shopper_id", distinct=True))
        .order_by("-shoppers", "item_id")[:k]
    )
    return [(row["item_id"], float(row["shoppers"])) for row in rows]


def impression_counts(*, shop: Shop, item_pks: list[int] | None, now: datetime) -> dict[int, int]:
    """Impressions per item in the 30 days before `now`: of these items, or of every item shown (None)."""
    window = (now - timedelta(days=RARELY_SHOWN_DAYS), event_latest(now=now))
    events = Event.objects.filter(shop=shop, type=EventType.IMPRESSION, occurred_at__range=window)
    if item_pks is not None:
        events = events.filter(item_id__in=item_pks)
    rows = (
        events.exclude(item_id=None)
        .values("item_id")
        .annotate(shown=Count("pk"))
    )
    return {row["item_id"]: row["shown"] for row in rows}


# Exploration asks how often its candidates were shown; counts a minute old decide as well as fresh ones.
IMPRESSION_COUNTS_SECONDS = 60
_impressions: dict[int, tuple[datetime, dict[int, int]]] = {}  # by shop pk: (counted at, shown per item pk)


def impression_counts_recent(*, shop: Shop, item_pks: list[int], now: datetime) -> dict[int, int]:
    """impression_counts of every item, counted once a minute per process in one query; a preview of another
    moment counts its own."""
    if abs((timezone.now() - now).total_seconds()) > IMPRESSION_COUNTS_SECONDS:
        return impression_counts(shop=shop, item_pks=item_pks, now=now)
    counted_at, shown = _impressions.get(shop.pk, (None, {}))
    if counted_at is None or abs((now - counted_at).total_seconds()) > IMPRESSION_COUNTS_SECONDS:
        counted_at, shown = now, impression_counts(shop=shop, item_pks=None, now=now)
        _impressions[shop.pk] = (counted_at, shown)
    return {pk: shown.get(pk, 0) for pk in item_pks}


_serving = ProcessCopies()


def serving_versions(*, shop: Shop) -> list[ModelVersion]:
    """The shop's serving model versions, read once per process and models token (a promote replaces it)."""
    return _serving.get(shop, models_token(shop=shop), lambda: active_versions(shop=shop))


# The reads of every composed page run as raw SQL (catalog.selectors.sql_rows says why).
_SHOPPER_COLUMNS = ("id", "shop_id", "external_id", "personalization_opt_out", "created_at")
_SHOPPER_READ = (
    f"SELECT {', '.join(_SHOPPER_COLUMNS)} FROM {Shopper._meta.db_table} WHERE shop_id = %s AND external_id = %s"
)


def shopper_get(*, shop: Shop, external_id: str) -> Shopper | None:
    """The shop's shopper with this storefront id; their attributes load only when asked for."""
    rows = sql_rows(_SHOPPER_READ, [shop.pk, external_id])
    if not rows:
        return None
    shopper = Shopper.from_db(connection.alias, list(_SHOPPER_COLUMNS), rows[0])
    shopper.shop = shop
    return shopper


_PAGE_EVENTS_READ = f"""
    (SELECT item_id, type, occurred_at, id, true FROM {Event._meta.db_table}
     WHERE shopper_id = %(shopper)s AND item_id IS NOT NULL AND occurred_at BETWEEN %(earliest)s AND %(latest)s
       AND type = ANY(%(types)s)
     ORDER BY occurred_at DESC, id DESC LIMIT %(limit)s)
    UNION ALL
    (SELECT item_id, type, occurred_at, id, false FROM {Event._meta.db_table}
     WHERE shopper_id = %(shopper)s AND item_id IS NOT NULL AND occurred_at BETWEEN %(earliest)s AND %(latest)s
       AND (type = %(dislike)s OR (type = %(purchase)s AND occurred_at >= %(since)s)))
"""


def shopper_page_events(*, shopper: Shopper, limit: int, since: datetime) -> list[tuple[int, str, datetime, int, bool]]:
    """(item pk, type, occurred at, event id, latest) rows, in one query: the shopper's `limit` latest events with
    an item (latest true), then every dislike and every purchase since `since` (latest false). Events outside
    catalog.bounds' window, or of a type Vitrine does not know, are skipped without a word: this runs on every
    page, and training and `manage.py repair_data` report them for the shop."""
    earliest, latest = event_window()
    params = {
        "shopper": shopper.pk, "limit": limit, "dislike": EventType.DISLIKE, "purchase": EventType.PURCHASE, "since": since,
        "earliest": earliest, "latest": latest, "types": EventType.values,
    }
    return sql_rows(_PAGE_EVENTS_READ, params)


_LATEST_SEARCH_READ = f"""
    SELECT query, occurred_at FROM {Event._meta.db_table}
    WHERE shopper_id = %(shopper)s AND type = %(search)s AND item_id IS NULL AND query <> ''
      AND occurred_at BETWEEN %(earliest)s AND %(latest)s
    ORDER BY occurred_at DESC, id DESC LIMIT 1
"""


def shopper_latest_search(*, shopper: Shopper) -> tuple[str, datetime] | None:
    """The words of the shopper's latest search that named no item, and when; None where they never searched."""
    earliest, latest = event_window()
    rows = sql_rows(_LATEST_SEARCH_READ, {"shopper": shopper.pk, "search": EventType.SEARCH, "earliest": earliest, "latest": latest})
    return rows[0] if rows else None


def items_all_available(*, shop: Shop, item_pks: list[int]) -> bool:
    """Asked of every page served, cached or not: one array parameter, so the SQL is the same for every page
    (the ORM's `pk__in` builds and parses a placeholder per item, which cost more than the query itself)."""
    if not item_pks:
        return True
    sql = f"SELECT 1 FROM {Item._meta.db_table} WHERE shop_id = %s AND id = ANY(%s) AND NOT available LIMIT 1"
    return not sql_rows(sql, [shop.pk, list(item_pks)])


def rail_click_through(*, shop: Shop, since: datetime) -> list[dict]:
    """Per rail key sent back in event context: impressions, clicks, purchases and click-through rate, from the
    hourly rollups (catalog.rollups); the window starts at the hour `since` falls in."""
    first_hour = since.replace(minute=0, second=0, microsecond=0)
    rows = (
        RailHour.objects.filter(shop=shop, hour__range=(first_hour, event_latest()))
        .values("rail")
        .annotate(impressions=Sum("impressions"), clicks=Sum("clicks"), purchases=Sum("purchases"))
        .filter(Q(impressions__gt=0) | Q(clicks__gt=0) | Q(purchases__gt=0))
        .order_by("rail")
    )
    return [
        {
            "rail": row["rail"],
            "impressions": row["impressions"],
            "clicks": row["clicks"],
            "purchases": row["purchases"],
            "ctr": row["clicks"] / row["impressions"] if row["impressions"] else None,
        }
        for row in rows
    ]
