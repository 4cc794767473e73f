from datetime import timedelta

from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from catalog.models import EventType
from homepage.selectors import rail_click_through
from recommender.selectors import family_statuses

from .. import selectors
from ..charts import Chart, Marker, Series, line_chart, stacked_bar_chart
from ..console import console_view

OVERVIEW_DAYS = 30
EVENT_SERIES = [
    (EventType.VIEW, "Views"),
    (EventType.CLICK, "Clicks"),
    (EventType.ADD_TO_CART, "Add to cart"),
    (EventType.PURCHASE, "Purchases"),
]
# Impressions outnumber every other type many times over: drawn with them, the rest would not show.
# They are the denominator of the click-through table instead.
UNCHARTED_TYPES = {EventType.IMPRESSION}


def events_chart(days: list[selectors.DayEvents]) -> Chart:
    named = {event_type for event_type, _ in EVENT_SERIES}
    skipped = named | UNCHARTED_TYPES
    series = [
        Series(key=event_type, name=name, values=[day.counts.get(event_type, 0) for day in days]) for event_type, name in EVENT_SERIES
    ]
    others = [
        sum(count for event_type, count in day.counts.items() if event_type not in skipped) for day in days
    ]
    series.append(Series(key="other", name="Searches, ratings, dislikes", values=others))
    return stacked_bar_chart(
        title=f"Events per day, last {len(days)} days",
        categories=[day.day.strftime("%b %d") for day in days],
        series=series,
        x_label="day",
        y_label="events",
    )


MARKER_NAMES = {"publish": "Rules published", "promotion": "Model promoted", "experiment": "Experiment started"}


def _marker_title(change: selectors.MarkedChange) -> str:
    entry = change.entry
    what = {"model_rollback": "Model rolled back"}.get(entry.action, MARKER_NAMES[change.kind])
    return f"{what}: {entry.object_repr} ({entry.user or 'system'}, {timezone.localtime(entry.created_at):%H:%M})"


def outcomes_chart(days: list[selectors.DayOutcomes], changes: list[selectors.MarkedChange]) -> Chart:
    return line_chart(
        title=f"Click-through and conversion per day, last {len(days)} days",
        categories=[day.day.strftime("%b %d") for day in days],
        series=[
            Series(key="ctr", name="Click-through (clicks per item shown)", values=[day.click_through for day in days]),
            Series(key="conversion", name="Conversion (purchases from a rail per page)", values=[day.conversion for day in days]),
        ],
        x_label="day", y_label="rate", percent=True, decimals=2,
        markers=[Marker(key=change.kind, category=change.day.strftime("%b %d"), title=_marker_title(change)) for change in changes],
        marker_names=MARKER_NAMES,
    )


def rail_rows(*, shop, since) -> list[dict]:
    titles = selectors.rail_titles(shop=shop)
    return [
        {**row, "title": titles.get(row["rail"], ""), "ctr_percent": None if row["ctr"] is None else 100 * row["ctr"]}
        for row in rail_click_through(shop=shop, since=since)
    ]


@require_GET
def root(request):
    return redirect("console-overview")


@require_GET
@console_view
def overview(request, shop):
    now = timezone.now()
    rails = rail_rows(shop=shop, since=now - timedelta(days=OVERVIEW_DAYS))
    return render(
        request,
        "merchandising/overview.html",
        {
            "shop": shop,
            "counts": selectors.shop_counts(shop=shop),
            "families": family_statuses(shop=shop),
            "events_chart": events_chart(selectors.events_per_day(shop=shop, days=OVERVIEW_DAYS, until=now)),
            "outcomes_chart": outcomes_chart(
                selectors.outcomes_per_day(shop=shop, days=OVERVIEW_DAYS, until=now),
                selectors.marked_changes(shop=shop, days=OVERVIEW_DAYS, until=now),
            ),
            "days": OVERVIEW_DAYS,
            "rails": rails,
            "best_ctr": max((row["ctr"] or 0 for row in rails), default=0),
        },
    )
