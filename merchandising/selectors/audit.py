"""The audit log, filtered by who, what and when."""

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from catalog.models import Shop

from ..models import AuditEntry


def audit_entries(
    *, shop: Shop, action: str = "", user_id: int | None = None, object_type: str = "", since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """The shop's log, newest first, narrowed to a user, a kind of object and the days from `since` to
    `until` (both included, in UTC)."""
    entries = AuditEntry.objects.filter(shop=shop).select_related("user")
    if action:
        entries = entries.filter(Q(action=action) | Q(action__startswith=f"{action}_"))
    if user_id is not None:
        entries = entries.filter(user_id=user_id)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if since is not None:
        entries = entries.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    if until is not None:
        entries = entries.filter(created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC))
    return entries


def audit_filter_choices(*, shop: Shop) -> tuple[list[tuple[int, str]], list[str]]:
    """Who appears in the shop's log (id, username) and the kinds of object it names."""
    entries = AuditEntry.objects.filter(shop=shop)
    users = entries.filter(user__isnull=False).values_list("user_id", "user__username").distinct().order_by("user__username")
    types = entries.exclude(object_type="").values_list("object_type", flat=True).distinct().order_by("object_type")
    return list(users), list(types)
