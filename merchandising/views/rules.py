"""Boosts, buries and blocks: add them, see which hold now, later or no more, edit, end or remove them."""

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from .. import selectors
from ..console import changed_response, console_change, console_view, redirect_back
from ..forms.rules import AdjustmentForm, BlockForm, RuleForm, rule_edit_form

RULE_FORMS = {"adjustment": (AdjustmentForm, "boost"), "block": (BlockForm, "block")}


def rule_form(kind: str, shop, data=None, *, campaign=None) -> RuleForm:
    """A new boost/bury or block form; `campaign` presets its campaign (a campaign's page)."""
    form_class, prefix = RULE_FORMS[kind]
    return form_class(data, shop=shop, prefix=prefix, initial={"campaign": campaign} if campaign else None)


def rule_lists_context(request, shop, *, campaign=None) -> dict:
    return {
        "rows": selectors.rules_listed(shop=shop, draft=request.console.draft, now=timezone.now(), campaign=campaign),
        "campaign": campaign,
    }


def rule_targets_context(shop) -> dict:
    """The shop's existing categories and brands, offered as a rule's target."""
    return {"categories": selectors.catalog_categories(shop=shop), "brands": selectors.catalog_brands(shop=shop)}


def _page(request, shop, *, status: int = 200, **forms_given):
    context = {
        "adjustment_form": forms_given.get("adjustment") or rule_form("adjustment", shop),
        "block_form": forms_given.get("block") or rule_form("block", shop),
        **rule_targets_context(shop),
        **rule_lists_context(request, shop),
    }
    return render(request, "merchandising/rules.html", context, status=status)


@require_GET
@console_view
def rules(request, shop):
    return _page(request, shop)


@require_GET
@console_view
def rule_lists(request, shop):
    campaign, asked = None, request.GET.get("campaign", "")
    if asked:
        campaign = selectors.campaign_get(shop=shop, pk=int(asked)) if asked.isascii() and asked.isdigit() else None
        if campaign is None:
            raise Http404("No such campaign in this shop.")
    return render(request, "merchandising/_rule_lists.html", rule_lists_context(request, shop, campaign=campaign))


@require_POST
@console_view
@vary_on_headers("HX-Request")
def rule_create(request, shop, kind):
    if kind not in RULE_FORMS:
        raise Http404("No such kind of rule.")
    form = rule_form(kind, shop, request.POST)
    created = None
    if form.is_valid():
        created = console_change(
            request, form, operation=f"{kind}_create", summary=form.summary(), **form.arguments()
        )
    keep_campaign = bool(request.POST.get("keep_campaign"))
    campaign = form.cleaned_data.get("campaign") if created is not None and keep_campaign else None
    if not request.htmx:
        if created is None:
            return _page(request, shop, status=400, **{kind: form})
        return redirect("console-campaign", pk=campaign.pk) if campaign else redirect("console-rules")
    context = {"form": form, "kind": kind, "keep_campaign": keep_campaign}
    if created is None:
        return render(request, "merchandising/_rule_forms.html#rule-form", context)
    context.update(form=rule_form(kind, shop, campaign=campaign), saved=form.summary())
    response = render(request, "merchandising/_rule_forms.html#rule-form", context)
    trigger_client_event(response, "ruleCreated")  # the lists add the new row (or the draft's)
    return changed_response(request, response)


def _rule(request, shop, kind: str, pk: int):
    rule = selectors.row_read(draft=request.console.draft, read=lambda: selectors.rule_get(shop=shop, kind=kind, pk=pk))
    if rule is None:
        raise Http404("No such rule in this shop.")
    return rule


def _row(request, rule, *, form: forms.Form | None = None, editing: bool = False) -> HttpResponse:
    """The rule's row as the merchandiser now sees it (through the open draft); nothing once removed."""
    row = selectors.rule_row(rule=rule, draft=request.console.draft, now=timezone.now())
    if row is None:
        return HttpResponse("")
    return render(request, "merchandising/_rule_row.html", {"row": row, "form": form, "editing": editing})


def refusal_form() -> forms.Form:
    """Carries a service's refusal of a one-button change (end, remove, create a rail) to the page."""
    return forms.Form(data={})


@require_GET
@console_view
def rule_row(request, shop, kind, pk):
    return _row(request, _rule(request, shop, kind, pk))


@require_GET
@console_view
def rule_impact(request, shop, kind, pk):
    """The sampled shoppers' pages the rule changes, and the rails it empties: asked for per row, never
    with the list, since each sample composes some forty pages."""
    rule = _rule(request, shop, kind, pk)
    impact = selectors.rule_impact(rule=rule, draft=request.console.draft, now=timezone.now())
    noun = "block" if kind == "block" else "boost" if rule.multiplier >= 1 else "bury"
    return render(request, "merchandising/_rule_row.html#rule-impact", {"impact": impact, "noun": noun})


@require_GET
@console_view
def rule_edit(request, shop, kind, pk):
    rule = _rule(request, shop, kind, pk)
    return _row(request, rule, form=rule_edit_form(rule), editing=True)


@require_POST
@console_view
def rule_update(request, shop, kind, pk):
    rule = _rule(request, shop, kind, pk)
    form = rule_edit_form(rule, request.POST)
    if not form.is_valid():
        return _row(request, rule, form=form, editing=True)
    changes = form.changes()
    if not changes:
        return _row(request, rule)
    if console_change(request, form, operation="rule_update", summary=f"Edit {rule}", rule=rule, **changes) is None:
        return _row(request, rule, form=form, editing=True)
    return changed_response(request, _row(request, rule))


@require_POST
@console_view
@vary_on_headers("HX-Request")
def rule_end(request, shop, kind, pk):
    rule = _rule(request, shop, kind, pk)
    refusal, now = refusal_form(), timezone.now()
    if rule.starts_at > now:
        refusal.add_error(None, "This rule has not started: remove it instead.")
    elif rule.ends_at is not None and rule.ends_at <= now:
        refusal.add_error(None, "This rule has already ended.")
    else:
        console_change(request, refusal, operation="rule_end", summary=f"End {rule}", rule=rule, at=now)
    if not request.htmx:
        return redirect_back(request, "console-rules")
    response = _row(request, rule, form=refusal)
    return response if refusal.errors else changed_response(request, response)


@require_POST
@console_view
@vary_on_headers("HX-Request")
def rule_delete(request, shop, kind, pk):
    rule = _rule(request, shop, kind, pk)
    refusal = refusal_form()
    console_change(request, refusal, operation="rule_delete", summary=f"Remove {rule}", rule=rule)
    if not request.htmx:
        return redirect_back(request, "console-rules")
    # Removed live, the row goes; removed in a draft, it goes from the draft's view of the rules too.
    response = _row(request, rule, form=refusal)
    return response if refusal.errors else changed_response(request, response)


urlpatterns = [
    path("", rules, name="console-rules"),
    path("lists/", rule_lists, name="console-rules-lists"),
    path("<slug:kind>/new/", rule_create, name="console-rules-create"),
    path("<slug:kind>/<int:pk>/", rule_row, name="console-rules-row"),
    path("<slug:kind>/<int:pk>/impact/", rule_impact, name="console-rules-impact"),
    path("<slug:kind>/<int:pk>/edit/", rule_edit, name="console-rules-edit"),
    path("<slug:kind>/<int:pk>/update/", rule_update, name="console-rules-update"),
    path("<slug:kind>/<int:pk>/end/", rule_end, name="console-rules-end"),
    path("<slug:kind>/<int:pk>/delete/", rule_delete, name="console-rules-delete"),
]
