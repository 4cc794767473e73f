"""The window of time stored events are read in: the one ingestion checks (catalog.validation.timestamp_window,
from the settings VITRINE_EVENT_EARLIEST and VITRINE_MAX_CLOCK_SKEW_HOURS), applied to every read of them.

A row written around the API (raw SQL, an older version) may hold a time PostgreSQL stores and Python cannot:
PostgreSQL keeps 4713 BC to 294276 AD and 'infinity', Python's datetime years 1 to 9999, and psycopg raises on
reading anything else. Reads keep to this window in SQL, before a row becomes a Python object.
"""

from datetime import datetime

from django.utils import timezone

from .validation import timestamp_window


def event_window(*, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(earliest, latest) occurred_at of a plausible event as of `now`, both inclusive."""
    return timestamp_window(now=now or timezone.now())


def event_latest(*, now: datetime | None = None) -> datetime:
    """The latest occurred_at a plausible event may have as of `now`."""
    return event_window(now=now)[1]


def event_window_text(*, now: datetime | None = None) -> str:
    earliest, latest = event_window(now=now)
    return f"{earliest:%Y-%m-%d %H:%M} to {latest:%Y-%m-%d %H:%M} UTC"
