"""The audit log: every change, as a readable difference, filtered by who, what and when; each one
revertable in one click."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import selectors
from ..console import console_view, redirect_back
from ..forms.audit import AuditFilterForm
from ..models import AuditEntry
from ..services import (
    FieldChange,
    RevertRefused,
    audit_diff,
    audit_entry_revert,
    audit_entry_revert_summary,
    audit_entry_revertable,
    audit_reverted_by,
)

PAGE_SIZE = 25


@dataclass
class AuditRow:
    entry: AuditEntry
    changes: list[FieldChange]
    revertable: bool
    reverted_by: AuditEntry | None


@require_GET
@vary_on_headers("HX-Request")
@console_view
def audit(request, shop):
    form = AuditFilterForm(request.GET or None, shop=shop)
    entries = selectors.audit_entries(shop=shop, action=request.GET.get("action", ""), **form.filters())
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        AuditRow(entry=entry, changes=audit_diff(entry=entry), revertable=audit_entry_revertable(entry=entry),
                 reverted_by=audit_reverted_by(entry=entry))
        for entry in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "rows": rows, "page": page, "query": query.urlencode()}
    # A boosted request (a revert's redirect) swaps the whole page; a filter or a page link only the log.
    fragment = request.htmx and not request.htmx.boosted
    template = "merchandising/audit.html#audit-log" if fragment else "merchandising/audit.html"
    return render(request, template, context)


def revert_response(request, revert: Callable[[], object], *, refused: str, done: Callable[[], str], fallback: str):
    """Run `revert`, then back where the merchandiser was (else to `fallback`) with a message: `refused` and the
    reason, or `done()`."""
    try:
        revert()
    except RevertRefused as refusal:
        messages.error(request, f"{refused}: {refusal}")
    else:
        messages.success(request, done())  # worded only once the revert happened
    return redirect_back(request, fallback=fallback)


@require_POST
@console_view
def revert(request, shop, pk: int):
    entry = get_object_or_404(AuditEntry, pk=pk, shop=shop)
    return revert_response(
        request, lambda: audit_entry_revert(entry=entry, actor=request.user), refused=f"#{entry.pk} was not reverted",
        done=lambda: audit_entry_revert_summary(entry=entry), fallback="console-audit",
    )


urlpatterns = [
    path("", audit, name="console-audit"),
    path("<int:pk>/revert/", revert, name="console-audit-revert"),
]
