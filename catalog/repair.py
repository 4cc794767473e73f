"""Repair of rows written around the API (raw SQL, an older version) that ingestion would refuse today.

Events dated outside the window every read keeps to (catalog.bounds) are deleted rather than clamped: their
true time is unknown, and a clamped one would invent it (an event of year 1 BC becoming the shopper's first,
one of year 9999 their latest and trending). Deleting also frees the event_id, so the storefront can send the
event again with its real time. Events naming another shop's item or shopper are deleted: no shop owns them.
Event values that are NaN, infinite or out of the API's ranges become null; ids that an event could not carry
today are only reported, since they are the storefront's keys.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import selectors
from .bounds import event_window
from .models import Event, EventType, Item, Shop, Shopper
from .services import item_interaction_counts_refresh
from .validation import ID_PATTERN, MAX_QUANTITY

ID_EXAMPLES = 5


@dataclass
class OddIds:
    count: int
    examples: list[str]


@dataclass
class ShopRepair:
    """What one shop's repair found; `applied` is False for a dry run, which changed nothing."""

    shop: Shop
    window: tuple[datetime, datetime]
    events_out_of_window: int
    events_of_other_shops: int
    values_out_of_range: int
    odd_ids: dict[str, OddIds] = field(default_factory=dict)  # by kind: item, shopper, event
    applied: bool = False


def _events_of_other_shops(shop: Shop) -> QuerySet[Event]:
    foreign_item = Q(item__isnull=False) & ~Q(item__shop=shop)
    return Event.objects.filter(shop=shop).filter(~Q(shopper__shop=shop) | foreign_item)


def _values_out_of_range(shop: Shop, window: tuple[datetime, datetime]) -> QuerySet[Event]:
    # PostgreSQL orders NaN above every number, so `value > high` catches NaN and +Infinity, `value < low` -Infinity.
    rating = Q(type=EventType.RATING)
    rating_out = rating & (Q(value__lt=settings.VITRINE_RATING_MIN) | Q(value__gt=settings.VITRINE_RATING_MAX))
    quantity_out = ~rating & (Q(value__lt=0) | Q(value__gt=MAX_QUANTITY))
    # Events about to be deleted for their time are not counted twice.
    return Event.objects.filter(shop=shop, value__isnull=False, occurred_at__range=window).filter(rating_out | quantity_out)


def _odd_ids(shop: Shop) -> dict[str, OddIds]:
    pattern = f"^{ID_PATTERN.pattern}$"
    found = {}
    for kind, rows, column in (
        ("item", Item.objects.filter(shop=shop), "external_id"),
        ("shopper", Shopper.objects.filter(shop=shop), "external_id"),
        ("event", Event.objects.filter(shop=shop), "event_id"),
    ):
        odd = rows.exclude(**{f"{column}__regex": pattern})
        count = odd.count()
        if count:
            found[kind] = OddIds(count=count, examples=list(odd.order_by(column).values_list(column, flat=True)[:ID_EXAMPLES]))
    return found


def shop_data_repair(*, shop: Shop, dry_run: bool = False, now: datetime | None = None) -> ShopRepair:
    """Find the shop's rows that ingestion would refuse today and, unless `dry_run`, repair them."""
    now = now or timezone.now()
    window = event_window(now=now)
    out_of_window = selectors.events_out_of_window(shop=shop, now=now)
    other_shops = _events_of_other_shops(shop)
    values = _values_out_of_range(shop, window)
    report = ShopRepair(
        shop=shop,
        window=window,
        events_out_of_window=out_of_window.count(),
        events_of_other_shops=other_shops.count(),
        values_out_of_range=values.count(),
        odd_ids=_odd_ids(shop),
    )
    if dry_run:
        return report
    with transaction.atomic():
        # Events have no signals and nothing refers to them, so these deletes run in SQL and fetch no row,
        # whose occurred_at Python could not read.
        out_of_window.delete()
        other_shops.delete()
        values.update(value=None)
        if report.events_out_of_window or report.events_of_other_shops:
            item_interaction_counts_refresh(shop=shop)
    report.applied = True
    return report
