"""Draft mode: start one, publish it at once, or throw it away; a draft's page keeps its changes, and a
published one can be rolled back."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from ..console import console_view, redirect_back
from ..models import Draft
from ..services import (
    DraftConflict,
    audit_reverted_by,
    draft_discard,
    draft_open,
    draft_publish,
    draft_publish_entry,
    draft_rollback,
)
from .audit import revert_response


@require_GET
@console_view
def bar(request, shop):
    return render(request, "merchandising/_draft_bar.html")


@require_POST
@console_view
def start(request, shop):
    draft_open(shop=shop, author=request.user)
    messages.info(request, "Draft mode: your edits are kept aside until you publish them.")
    return redirect_back(request)


@require_POST
@console_view
def publish(request, shop):
    draft = request.console.draft
    if draft is None:
        messages.warning(request, "There is no open draft to publish.")
        return redirect_back(request)
    try:
        count = draft_publish(draft=draft, actor=request.user)
    except (ValidationError, DraftConflict) as error:
        messages.error(request, f"Nothing was published: {'; '.join(getattr(error, 'messages', [str(error)]))}")
        return redirect_back(request)
    messages.success(request, f"Published {count} change{'s' if count != 1 else ''}: they are live now.")
    return redirect_back(request)


@require_POST
@console_view
def discard(request, shop):
    if request.console.draft is not None:
        draft_discard(draft=request.console.draft, actor=request.user)
        messages.info(request, "Draft discarded: the live rules are unchanged.")
    return redirect_back(request)


@require_GET
@console_view
def detail(request, shop, pk: int):
    draft = get_object_or_404(Draft.objects.select_related("author"), pk=pk, shop=shop)
    published = draft_publish_entry(draft=draft)
    rolled_back = audit_reverted_by(entry=published) if published is not None else None
    return render(request, "merchandising/draft.html", {
        "draft": draft, "changes": draft.changes.all(), "published": published, "rolled_back": rolled_back,
    })


@require_POST
@console_view
def rollback(request, shop, pk: int):
    draft = get_object_or_404(Draft, pk=pk, shop=shop)
    return revert_response(
        request, lambda: draft_rollback(draft=draft, actor=request.user), refused="Nothing was rolled back",
        done=lambda: f"Draft #{draft.pk} rolled back: the live rules are as they were before it.",
        fallback="console-overview",
    )


urlpatterns = [
    path("<int:pk>/", detail, name="console-draft"),
    path("<int:pk>/rollback/", rollback, name="console-draft-rollback"),
    path("bar/", bar, name="console-draft-bar"),
    path("start/", start, name="console-draft-start"),
    path("publish/", publish, name="console-draft-publish"),
    path("discard/", discard, name="console-draft-discard"),
]
