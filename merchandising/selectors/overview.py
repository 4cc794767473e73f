"""The Overview page: events and outcomes per day from the rollups, and the changes marked on its time axis."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import EventHour, RailHour, Shop

from ..models import AuditEntry, Rail


@dataclass(frozen=True)
class DayEvents:
    day: date
    counts: dict[str, int]  # by event type; types with no event are left out


def _day_hours(days: int, until: datetime) -> tuple[list[date], dict]:
    """The `days` days (in the current time zone) ending with the day of `until`, and the filter of their hours."""
    last_day = timezone.localdate(until)
    first_day = last_day - timedelta(days=days - 1)
    zone = timezone.get_current_timezone()
    hours = {
        "hour__gte": datetime.combine(first_day, time.min, tzinfo=zone),
        "hour__lt": datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone),
    }
    return [first_day + timedelta(days=offset) for offset in range(days)], hours


def events_per_day(*, shop: Shop, days: int, until: datetime) -> list[DayEvents]:
    """The shop's events of each type per day (in the current time zone), for the `days` days ending
    with the day of `until`; days without events are listed too. Read from the hourly rollups (catalog.rollups)."""
    listed, hours = _day_hours(days, until)
    rows = (
        EventHour.objects.filter(shop=shop, **hours)
        .annotate(day=TruncDate("hour"))
        .values("day", "type")
        .annotate(count=Sum("events"))
        .order_by()
    )
    counts = {day: {} for day in listed}
    for row in rows:
        counts[row["day"]][row["type"]] = row["count"]
    return [DayEvents(day=day, counts=by_type) for day, by_type in counts.items()]


@dataclass(frozen=True)
class DayOutcomes:
    """What the shop's homepages brought in one day: pages served, items shown, and the clicks and purchases
    sent back from them."""

    day: date
    pages: int = 0
    impressions: int = 0
    clicks: int = 0
    purchases: int = 0

    @property
    def click_through(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def conversion(self) -> float | None:
        """Purchases from a rail per page served."""
        return self.purchases / self.pages if self.pages else None


def outcomes_per_day(*, shop: Shop, days: int, until: datetime) -> list[DayOutcomes]:
    """The shop's homepage outcomes per day (in the current time zone), as events_per_day, from the rail rollups."""
    listed, hours = _day_hours(days, until)
    rows = (
        RailHour.objects.filter(shop=shop, **hours)
        .annotate(day=TruncDate("hour"))
        .values("day")
        .annotate(pages=Sum("pages", filter=Q(rail="")), impressions=Sum("impressions"), clicks=Sum("clicks"),
                  purchases=Sum("purchases"))
        .order_by()
    )
    found = {row["day"]: row for row in rows}
    return [
        DayOutcomes(day=day, **{name: found[day][name] or 0 for name in ("pages", "impressions", "clicks", "purchases")})
        if day in found else DayOutcomes(day=day)
        for day in listed
    ]


# The changes marked on the overview's time axis, by kind: the audit actions that make each.
MARKED_ACTIONS = {
    "publish": ("draft_publish",),
    "promotion": ("model_promote", "model_rollback"),
    "experiment": ("experiment_start",),
}


@dataclass(frozen=True)
class MarkedChange:
    kind: str  # a key of MARKED_ACTIONS
    day: date  # in the current time zone
    entry: AuditEntry


def marked_changes(*, shop: Shop, days: int, until: datetime) -> list[MarkedChange]:
    """The shop's rule publishes, model promotions and experiment starts in the days events_per_day lists, oldest first."""
    listed, _ = _day_hours(days, until)
    kinds = {action: kind for kind, actions in MARKED_ACTIONS.items() for action in actions}
    since = datetime.combine(listed[0], time.min, tzinfo=timezone.get_current_timezone())
    entries = (
        AuditEntry.objects.filter(shop=shop, action__in=kinds, created_at__gte=since, created_at__lte=until)
        .select_related("user").order_by("created_at", "pk")
    )
    return [MarkedChange(kind=kinds[entry.action], day=timezone.localdate(entry.created_at), entry=entry) for entry in entries]


def rail_titles(*, shop: Shop) -> dict[str, str]:
    return dict(Rail.objects.filter(shop=shop).values_list("key", "title"))
