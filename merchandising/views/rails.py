"""Rails: the homepage's rows in page order. Move, switch, resize and retitle each one, and tune its
diversity and caps against a live preview for a chosen shopper before saving them."""

from dataclasses import dataclass, field

from django import forms
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from catalog.models import Shop

from .. import selectors, services
from ..console import changed_response, console_change, console_view
from ..forms.rails import (
    RailBasicsForm,
    RailEnabledForm,
    RailMoveForm,
    RailOrderForm,
    RailRankingForm,
)
from ..models import Rail

TEMPLATE = "merchandising/rails.html"
FIELD_LABELS = {
    "title": "title", "size": "size", "enabled": "shown", "diversity": "λ",
    "max_per_category": "at most per category", "max_per_brand": "at most per brand",
}


@dataclass
class RailRow:
    rail: Rail
    number: int
    last: bool
    basics: RailBasicsForm
    ranking: RailRankingForm
    editing: bool = False  # the diversity panel is open
    preview: selectors.RailPreview | None = None
    preview_for: str = ""
    errors: list[str] = field(default_factory=list)  # refusals of a move or a switch


def _rails(request, shop: Shop) -> list[Rail]:
    # As the open draft would leave them: the merchandiser sees their own pending edits.
    return selectors.rules_read(draft=request.console.draft, read=lambda: selectors.console_rails(shop=shop))


def _rail(request, shop: Shop, pk: int) -> Rail:
    return selectors.rules_read(draft=request.console.draft, read=lambda: get_object_or_404(Rail, pk=pk, shop=shop))


def _rows(request, shop: Shop, *, pk: int | None = None, **override) -> list[RailRow]:
    """A row per rail; `override` replaces what the row of rail `pk` shows (a bound form with its errors)."""
    rails = _rails(request, shop)
    active = selectors.shoppers_search(shop=shop, query="", limit=1).first()
    shopper = active.external_id if active else ""
    rows = [
        RailRow(
            rail=rail, number=number, last=number == len(rails), basics=RailBasicsForm.of(rail),
            ranking=RailRankingForm.of(rail, shopper=shopper),
        )
        for number, rail in enumerate(rails, start=1)
    ]
    for row in rows:
        if row.rail.pk == pk:
            for name, value in override.items():
                setattr(row, name, value)
    return rows


def _respond(request, shop: Shop, pk: int | None, *, status: int = 200, whole_list: bool = False, **override):
    """The page for a plain request; for htmx the row of rail `pk` (or the whole list, after a move)."""
    rows = _rows(request, shop, pk=pk, **override)
    if not request.htmx:
        return render(request, TEMPLATE, {"rows": rows}, status=status)
    if whole_list:
        return render(request, f"{TEMPLATE}#rail-list", {"rows": rows}, status=status)
    row = next(row for row in rows if row.rail.pk == pk)
    return render(request, f"{TEMPLATE}#rail-row", {"row": row}, status=status)


def _changed(request, shop: Shop, pk: int, **override):
    if not request.htmx:
        return redirect("console-rails")
    return changed_response(request, _respond(request, shop, pk, **override))


def _shown(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return f"“{value}”"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _rail_change(request, form: forms.Form, rail: Rail, names: tuple[str, ...]) -> bool:
    """Apply the form's values of `names` that differ from the rail's; False when the change was refused."""
    changes = {name: form.cleaned_data[name] for name in names if form.cleaned_data[name] != getattr(rail, name)}
    if not changes:
        return True
    summary = f"Rail {rail.key}: " + ", ".join(
        f"{FIELD_LABELS[name]} {_shown(getattr(rail, name))} → {_shown(value)}" for name, value in changes.items()
    )
    return console_change(request, form, operation="rail_update", summary=summary, rail=rail, **changes) is not None


@require_GET
@console_view
def rails(request, shop):
    services.default_rails_ensure(shop=shop)  # a shop that never served a page gets the default one to start from
    return render(request, TEMPLATE, {"rows": _rows(request, shop)})


@require_POST
@vary_on_headers("HX-Request")
@console_view
def rail_update(request, shop, pk: int):
    """Retitle and resize."""
    rail = _rail(request, shop, pk)
    form = RailBasicsForm.of(rail, data=request.POST)
    if form.is_valid() and _rail_change(request, form, rail, ("title", "size")):
        return _changed(request, shop, pk)
    return _respond(request, shop, pk, status=400, basics=form)


@require_POST
@vary_on_headers("HX-Request")
@console_view
def rail_enabled(request, shop, pk: int):
    rail = _rail(request, shop, pk)
    form = RailEnabledForm(request.POST)
    if form.is_valid() and _rail_change(request, form, rail, ("enabled",)):
        return _changed(request, shop, pk)
    return _respond(request, shop, pk, status=400, errors=form.non_field_errors())


@require_POST
@vary_on_headers("HX-Request")
@console_view
def rail_move(request, shop, pk: int):
    """One place up or down the page: keyboard users move rails with these buttons."""
    rail = _rail(request, shop, pk)
    form = RailMoveForm(request.POST)
    if form.is_valid():
        keys = [other.key for other in _rails(request, shop)]
        here = keys.index(rail.key)
        there = here - 1 if form.cleaned_data["direction"] == "up" else here + 1
        if not 0 <= there < len(keys):
            return _respond(request, shop, pk, whole_list=True)
        keys[here], keys[there] = keys[there], keys[here]
        summary = f"Rail {rail.key} moved {form.cleaned_data['direction']}, to place {there + 1}"
        return _reordered(request, shop, pk, form, keys=keys, summary=summary)
    return _refused(request, shop, pk, form)


def _reordered(request, shop, pk: int | None, form, *, keys: list[str], summary: str):
    """The page order saved (or held in the draft) and the whole list answered; a refusal says why on row pk."""
    if console_change(request, form, operation="rails_reorder", summary=summary, keys=keys) is None:
        return _refused(request, shop, pk, form)
    if not request.htmx:
        return redirect("console-rails")
    return changed_response(request, _respond(request, shop, pk, whole_list=True))


def _refused(request, shop, pk: int | None, form):
    errors = [message for messages in form.errors.values() for message in messages]
    return _respond(request, shop, pk, status=400, whole_list=True, errors=errors)


def _moved(before: list[str], after: list[str]) -> str | None:
    """The one rail a drag took from its place in `before` to its place in `after`; None when nothing moved
    or more than one rail did."""
    if before == after:
        return None
    for key in before:
        if [other for other in before if other != key] == [other for other in after if other != key]:
            return key
    return None


@require_POST
@vary_on_headers("HX-Request")
@console_view
def rail_order(request, shop):
    """The whole page order at once, as a drag and drop (by mouse or keyboard) leaves it."""
    rails = _rails(request, shop)
    first = rails[0].pk if rails else None  # a refusal is told on the top row
    form = RailOrderForm(request.POST, rails=rails)
    if form.is_valid():
        keys = form.cleaned_data["keys"]
        if keys == form.current:
            return _respond(request, shop, first, whole_list=True)
        moved = _moved(form.current, keys)
        summary = f"Rail {moved} moved to place {keys.index(moved) + 1}" if moved else (
            f"Rails reordered: {', '.join(keys)}"
        )
        return _reordered(request, shop, first, form, keys=keys, summary=summary)
    return _refused(request, shop, first, form)


@require_POST
@vary_on_headers("HX-Request")
@console_view
def rail_ranking(request, shop, pk: int):
    """Save λ and the caps tried in the preview."""
    rail = _rail(request, shop, pk)
    form = RailRankingForm.of(rail, shopper="", data=request.POST)
    if form.is_valid() and _rail_change(request, form, rail, RailRankingForm.RULE_FIELDS):
        return _changed(request, shop, pk, editing=True, ranking=form)
    return _respond(request, shop, pk, status=400, editing=True, ranking=form)


def _preview_shopper(shop: Shop, cleaned: dict):
    """The shopper named in the form and how the preview names them; None is the cold-start shopper."""
    external_id = cleaned["shopper"]
    if cleaned["new_shopper"] or not external_id:
        return None, "a new shopper (cold start)"
    shopper = selectors.shopper_find(shop=shop, external_id=external_id)
    if shopper is None:
        return None, f"“{external_id}”, unknown here: served as a new shopper (cold start)"
    return shopper, f"shopper {external_id}"


@require_GET
@vary_on_headers("HX-Request")
@console_view
def rail_preview(request, shop, pk: int):
    """The rail for a shopper with the form's λ and caps, nothing saved: what Save would change."""
    rail = _rail(request, shop, pk)
    form = RailRankingForm.of(rail, shopper="", data=request.GET)
    preview, preview_for = None, ""
    if form.is_valid():
        shopper, preview_for = _preview_shopper(shop, form.cleaned_data)
        ranking = {name: form.cleaned_data[name] for name in RailRankingForm.RULE_FIELDS}
        preview = selectors.rules_read(
            draft=request.console.draft,
            read=lambda: selectors.rail_preview(shop=shop, rail=rail, shopper=shopper, **ranking),
        )
    status = 200 if form.is_valid() else 400
    if request.htmx:
        context = {"preview": preview, "preview_for": preview_for, "form": form}
        return render(request, f"{TEMPLATE}#rail-preview", context, status=status)
    return _respond(
        request, shop, pk, status=status, editing=True, ranking=form, preview=preview, preview_for=preview_for
    )


urlpatterns = [
    path("", rails, name="console-rails"),
    path("<int:pk>/", rail_update, name="console-rails-update"),
    path("<int:pk>/enabled/", rail_enabled, name="console-rails-enabled"),
    path("<int:pk>/move/", rail_move, name="console-rails-move"),
    path("order/", rail_order, name="console-rails-order"),
    path("<int:pk>/ranking/", rail_ranking, name="console-rails-ranking"),
    path("<int:pk>/preview/", rail_preview, name="console-rails-preview"),
]
