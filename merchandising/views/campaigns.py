"""Campaigns: dated promotions with a banner rail and rules of their own, and the homepage previewed on
any date of theirs."""

from datetime import datetime, timedelta

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from homepage.defaults import DEFAULT_RAILS
from homepage.rules import RailKind
from homepage.services import homepage_compose

from .. import selectors
from ..console import changed_response, console_change, console_view
from ..forms.campaigns import CampaignForm, CampaignPinForm, PreviewForm
from ..models import Campaign
from .rules import refusal_form, rule_form, rule_lists_context, rule_targets_context

BANNER_RAIL = next(spec for spec in DEFAULT_RAILS if spec["kind"] == RailKind.CAMPAIGN)


def _campaign(request, shop, pk: int) -> Campaign:
    campaign = selectors.row_read(draft=request.console.draft, read=lambda: selectors.campaign_get(shop=shop, pk=pk))
    if campaign is None:
        raise Http404("No such campaign in this shop.")
    return campaign


def _list_page(request, shop, *, form: CampaignForm | None = None, status: int = 200):
    now = timezone.now()
    rows = [
        {"campaign": campaign, "status": selectors.campaign_status(campaign=campaign, at=now)}
        for campaign in selectors.campaigns_listed(shop=shop, draft=request.console.draft)
    ]
    return render(request, "merchandising/campaigns.html", {"rows": rows, "form": form or CampaignForm()}, status=status)


@require_GET
@console_view
def campaigns(request, shop):
    return _list_page(request, shop)


@require_POST
@console_view
@vary_on_headers("HX-Request")
def campaign_create(request, shop):
    form = CampaignForm(request.POST)
    if form.is_valid():
        made = console_change(
            request, form, operation="campaign_create", summary=f"New campaign {form.cleaned_data['name']}",
            **form.cleaned_data,
        )
        if made is not None:  # the campaign, or in draft mode the change that makes it with its id
            url = reverse("console-campaign", args=[made.made_pk if request.console.draft else made.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if request.htmx:
        return render(request, "merchandising/campaigns.html#campaign-form", {"form": form})
    return _list_page(request, shop, form=form, status=400)


def _preview_default(campaign: Campaign) -> datetime:
    """Now, to the microsecond, while the campaign runs (a rule made seconds ago shows), else its first whole
    minute (the date input has no seconds)."""
    now = timezone.now()
    return now if campaign.is_live(now) else (campaign.starts_at + timedelta(seconds=59)).replace(second=0, microsecond=0)


def _preview_moment(at: datetime) -> datetime:
    """The date input has no seconds: the minute under way stands for now, so that the preview asked again
    after a rule is made (the form is sent again) shows it."""
    now = timezone.now()
    return now if at <= now < at + timedelta(minutes=1) else at


def _preview_context(request, shop, campaign: Campaign) -> dict:
    """The homepage on the chosen date (through the open draft) for the chosen shopper, or a new one."""
    if "preview-at" in request.GET:
        form = PreviewForm(request.GET, shop=shop)
        if not form.is_valid():
            return {"preview_form": form, "preview": None, "campaign": campaign}
        at, shopper = _preview_moment(form.cleaned_data["at"]), form.cleaned_data["shopper"]
    else:
        at, shopper = _preview_default(campaign), None
        form = PreviewForm(shop=shop, initial={"at": at})

    def read():
        shown = selectors.campaign_get(shop=shop, pk=campaign.pk)  # its dates as the draft leaves them
        return homepage_compose(shop=shop, shopper=shopper, debug=True, now=at), shown.is_live(at)

    page, live_then = selectors.rules_read(draft=request.console.draft, read=read)
    return {
        "preview_form": form, "preview": page, "preview_at": at, "preview_shopper": shopper, "campaign": campaign,
        "campaign_live_then": live_then,
    }


def _summary_context(request, campaign: Campaign, form: CampaignForm | None = None, saved: bool = False) -> dict:
    # The campaign as the open draft would leave it: an edit kept in a draft shows here too.
    shown = selectors.rules_read(
        draft=request.console.draft, read=lambda: selectors.campaign_get(shop=campaign.shop, pk=campaign.pk)
    )
    return {
        "campaign_shown": shown, "status": selectors.campaign_status(campaign=shown, at=timezone.now()),
        "campaign_form": form or CampaignForm(campaign=shown), "saved": saved,
    }


def _rail_context(request, campaign: Campaign) -> dict:
    return {"campaign": campaign, "banner_rails": selectors.campaign_rails(campaign=campaign, draft=request.console.draft)}


def _pins_context(request, campaign: Campaign) -> dict:
    now = timezone.now()
    pins = selectors.campaign_pins(campaign=campaign, draft=request.console.draft)
    return {"campaign": campaign, "pins": [{"pin": pin, "status": selectors.rule_status(rule=pin, at=now)} for pin in pins]}


def _detail_page(request, shop, campaign: Campaign, /, *, status: int = 200, **forms_given):
    context = {
        **_summary_context(request, campaign, forms_given.get("campaign")),
        **_rail_context(request, campaign),
        **_pins_context(request, campaign),
        **rule_lists_context(request, shop, campaign=campaign),
        **rule_targets_context(shop),
        **_preview_context(request, shop, campaign),
        "adjustment_form": rule_form("adjustment", shop, campaign=campaign),
        "block_form": rule_form("block", shop, campaign=campaign),
        "pin_form": forms_given.get("pin") or CampaignPinForm(shop=shop),
    }
    return render(request, "merchandising/campaign.html", context, status=status)


@require_GET
@console_view
def campaign(request, shop, pk):
    return _detail_page(request, shop, _campaign(request, shop, pk))


@require_POST
@console_view
@vary_on_headers("HX-Request")
def campaign_update(request, shop, pk):
    campaign = _campaign(request, shop, pk)
    form = CampaignForm(request.POST, campaign=campaign)
    changes = form.changes() if form.is_valid() else {}
    saved = bool(changes) and console_change(
        request, form, operation="campaign_update", summary=f"Edit campaign {campaign}", campaign=campaign, **changes
    ) is not None
    if not request.htmx:
        if form.errors:
            return _detail_page(request, shop, campaign, status=400, campaign=form)
        return redirect("console-campaign", pk=campaign.pk)
    response = render(
        request, "merchandising/campaign.html#campaign-summary",
        _summary_context(request, campaign, None if saved else form, saved=saved),
    )
    return changed_response(request, response) if saved else response


@require_POST
@console_view
@vary_on_headers("HX-Request")
def campaign_rail_create(request, shop, pk):
    campaign = _campaign(request, shop, pk)
    refusal = refusal_form()
    fields = {name: value for name, value in BANNER_RAIL.items() if name != "key"}
    key = selectors.rail_key_free(shop=shop, name=campaign.name)
    console_change(
        request, refusal, operation="rail_create", summary=f"New banner rail {key} for {campaign}", key=key,
        campaign=campaign, **{**fields, "position": 0},
    )
    if not request.htmx:
        return redirect("console-campaign", pk=campaign.pk)
    response = render(request, "merchandising/campaign.html#banner-rail", {**_rail_context(request, campaign), "refusal": refusal})
    return response if refusal.errors else changed_response(request, response)


@require_GET
@console_view
def campaign_pins(request, shop, pk):
    return render(request, "merchandising/campaign.html#campaign-pins", _pins_context(request, _campaign(request, shop, pk)))


@require_POST
@console_view
@vary_on_headers("HX-Request")
def campaign_pin_create(request, shop, pk):
    campaign = _campaign(request, shop, pk)
    form = CampaignPinForm(request.POST, shop=shop)
    created = None
    if form.is_valid():
        cleaned = form.cleaned_data
        created = console_change(
            request, form, operation="pin_create",
            summary=f"Pin {cleaned['item']} at slot {cleaned['slot']} of {cleaned['rail'].key} for {campaign}",
            campaign=campaign, **cleaned,
        )
    if not request.htmx:
        if created is None:
            return _detail_page(request, shop, campaign, status=400, pin=form)
        return redirect("console-campaign", pk=campaign.pk)
    context = {"campaign": campaign, "pin_form": form if created is None else CampaignPinForm(shop=shop), "saved": created is not None}
    response = render(request, "merchandising/campaign.html#pin-form", context)
    if created is None:
        return response
    trigger_client_event(response, "ruleCreated")
    return changed_response(request, response)


@require_GET
@console_view
def campaign_preview(request, shop, pk):
    return render(request, "merchandising/campaign.html#campaign-preview", _preview_context(request, shop, _campaign(request, shop, pk)))


urlpatterns = [
    path("", campaigns, name="console-campaigns"),
    path("new/", campaign_create, name="console-campaigns-create"),
    path("<int:pk>/", campaign, name="console-campaign"),
    path("<int:pk>/update/", campaign_update, name="console-campaigns-update"),
    path("<int:pk>/rail/", campaign_rail_create, name="console-campaigns-rail"),
    path("<int:pk>/pins/", campaign_pins, name="console-campaigns-pins"),
    path("<int:pk>/pins/new/", campaign_pin_create, name="console-campaigns-pin-create"),
    path("<int:pk>/preview/", campaign_preview, name="console-campaigns-preview"),
]
