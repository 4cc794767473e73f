"""Preview: a shopper's homepage as the storefront API serves it, every item explained; in draft mode,
the page the draft would serve beside the live one, with what moved."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from catalog.models import Shop, Shopper
from homepage.arms import Arm
from homepage.services import homepage_compose
from homepage.services.context import experiment_arm_served

from .. import selectors
from ..console import console_view, redirect_back
from ..forms.preview import PreviewForm
from ..models import Draft, DraftChange
from ..services import DraftConflict, draft_applied, draft_change_remove


def _pages(shop: Shop, shopper: Shopper | None, draft: Draft | None, arm: Arm | None = None) -> dict:
    """The API's own pipeline (debug adds explanations, nothing else), as `arm` serves it when one is chosen;
    with a draft, its page too."""
    pages, drafted = {}, None
    if draft is not None:
        try:
            with draft_applied(draft=draft):
                # Composed after the replay: the draft's pins and rules start when replayed, as they will when published.
                drafted = homepage_compose(shop=shop, shopper=shopper, debug=True)
        except DraftConflict as error:
            pages["draft_error"] = str(error)
    # At the draft page's moment, so the two pages differ by the draft alone.
    with experiment_arm_served(arm):
        live = homepage_compose(shop=shop, shopper=shopper, debug=True, now=drafted.generated_at if drafted else None)
    pages["live"] = selectors.page_marks(page=live)
    if drafted is not None:
        pages["drafted"] = selectors.page_marks(page=drafted, before=live)
    return pages


@require_GET
@vary_on_headers("HX-Request", "HX-Boosted")
@console_view
def preview(request, shop):
    form = PreviewForm(request.GET, shop=shop)
    draft = request.console.draft
    context = {"form": form, "draft": draft, "draft_asked": request.GET.get("draft") == "1"}
    if form.is_valid():
        shopper, arm = form.cleaned_data["shopper"], form.cleaned_data["variant"]
        context.update(_pages(shop, shopper, draft, arm), shopper=shopper, arm=arm)
        if shopper is not None:
            context.update(
                tags=selectors.shopper_tags(shopper=shopper), events=selectors.shopper_events_recent(shopper=shopper)
            )
    # A boosted request (publish, discard) lands here after its redirect and wants the whole page, messages included.
    fragment = request.htmx and not request.htmx.boosted
    return render(request, "merchandising/preview.html#preview" if fragment else "merchandising/preview.html", context)


@require_GET
@console_view
def shoppers_search(request, shop):
    query = request.GET.get("shopper", "")
    return render(
        request,
        "merchandising/preview.html#shopper-suggestions",
        {"shoppers": selectors.shoppers_search(shop=shop, query=query), "query": query},
    )


@require_POST
@console_view
def change_remove(request, shop, pk: int):
    if request.console.draft is None:
        raise Http404("You have no open draft in this shop.")
    draft_change_remove(change=get_object_or_404(DraftChange, pk=pk, draft=request.console.draft))
    if not request.htmx:
        return redirect_back(request)
    # The draft bar and the preview refresh themselves on this event.
    return trigger_client_event(HttpResponse(), "draftChanged")


urlpatterns = [
    path("", preview, name="console-preview"),
    path("shoppers/", shoppers_search, name="console-preview-shoppers"),
    path("changes/<int:pk>/remove/", change_remove, name="console-preview-change-remove"),
]
