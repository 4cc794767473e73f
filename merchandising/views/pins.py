"""Pins: hold an item at a slot of a rail, now or for a scheduled while; list, edit and remove them."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from catalog.models import Shop

from .. import selectors, services
from ..console import changed_response, console_change, console_view
from ..forms.pins import PinEditForm, PinForm
from ..models import Pin

TEMPLATE = "merchandising/pins.html"


@dataclass
class PinRow:
    pin: Pin
    status: str  # live, scheduled or ended
    drafted: bool  # made by the open draft: not live yet (edits to it are kept in the draft too)
    form: PinEditForm | None = None  # set while the row is edited


def _rows(request, shop: Shop, *, pk: int | None = None, form_of_row: PinEditForm | None = None) -> list[PinRow]:
    """The pins as the open draft would leave them; the row of pin `pk` edited with `form_of_row`."""
    now = timezone.now()
    draft = request.console.draft
    pins = selectors.rules_read(draft=draft, read=lambda: selectors.pins_listed(shop=shop, now=now))
    live = {pin.pk for pin in selectors.pins_listed(shop=shop, now=now)} if draft else {pin.pk for pin in pins}
    return [
        PinRow(
            pin=pin, status=selectors.rule_status(rule=pin, at=now), drafted=pin.pk not in live,
            form=form_of_row if pin.pk == pk else None,
        )
        for pin in pins
    ]


def _pin(request, shop: Shop, pk: int) -> Pin:
    pins = Pin.objects.select_related("rail", "item").filter(pk=pk, rail__shop=shop)
    pin = selectors.row_read(draft=request.console.draft, read=pins.first)
    if pin is None:
        raise Http404("No such pin in this shop.")
    return pin


def _page(request, shop: Shop, *, form: PinForm | None = None, status: int = 200, **edited) -> HttpResponse:
    context = {"form": form or PinForm(shop=shop), "rows": _rows(request, shop, **edited)}
    return render(request, TEMPLATE, context, status=status)


def _row(request, shop: Shop, pk: int, *, form: PinEditForm | None = None, status: int = 200) -> HttpResponse:
    """The pin's row for htmx (its edit form when `form` is given), else the page."""
    if not request.htmx:
        return _page(request, shop, status=status, pk=pk, form_of_row=form)
    row = next((row for row in _rows(request, shop, pk=pk, form_of_row=form) if row.pin.pk == pk), None)
    if row is None:  # gone from the list (ended long ago, or removed by the draft)
        return HttpResponse(status=status)
    partial = "pin-edit-row" if form is not None else "pin-row"
    return render(request, f"{TEMPLATE}#{partial}", {"row": row}, status=status)


def _schedule(cleaned: dict) -> str:
    ends = f" until {cleaned['ends_at']:%Y-%m-%d %H:%M}" if cleaned["ends_at"] else ""
    starts = f" from {cleaned['starts_at']:%Y-%m-%d %H:%M}" if cleaned["starts_at"] else ""
    return starts + ends


@require_GET
@console_view
def pins(request, shop):
    services.default_rails_ensure(shop=shop)  # a shop that never served a page gets rails to pin to
    return _page(request, shop)


@require_POST
@vary_on_headers("HX-Request")
@console_view
def pin_create(request, shop):
    form = PinForm(request.POST, shop=shop)
    if form.is_valid():
        data = form.cleaned_data
        summary = f"Pin {data['item'].title[:120]} at slot {data['slot']} of {data['rail'].key}{_schedule(data)}"
        created = console_change(
            request, form, operation="pin_create", summary=summary, rail=data["rail"], item=data["item"],
            slot=data["slot"], starts_at=data["starts_at"], ends_at=data["ends_at"], note=data["note"],
        )
        if created is not None:
            if not request.htmx:
                messages.success(request, f"Pinned at slot {data['slot']} of {data['rail'].title}.")
                return redirect("console-pins")
            context = {"form": PinForm(shop=shop), "rows": _rows(request, shop), "created": True}
            return changed_response(request, render(request, f"{TEMPLATE}#pin-created", context))
    if request.htmx:
        return render(request, f"{TEMPLATE}#pin-form", {"form": form}, status=400)
    return _page(request, shop, form=form, status=400)


@require_GET
@vary_on_headers("HX-Request")
@console_view
def pin_row(request, shop, pk: int):
    """The pin's row as listed: what Cancel of an edit shows again."""
    _pin(request, shop, pk)
    if not request.htmx:
        return redirect("console-pins")
    return _row(request, shop, pk)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@console_view
def pin_edit(request, shop, pk: int):
    """Move the pin to another slot, or change when it holds."""
    pin = _pin(request, shop, pk)
    drafted = next((row.pin for row in _rows(request, shop) if row.pin.pk == pk), pin)
    if request.method == "GET":
        return _row(request, shop, pk, form=PinEditForm.of(drafted))
    form = PinEditForm.of(drafted, data=request.POST)
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if "starts_at" in changes and changes["starts_at"] is None:
            changes["starts_at"] = timezone.now()  # an emptied start means from now, as when the pin was made
        summary = (
            f"Pin {drafted.item.title[:120]} on {drafted.rail.key}: "
            f"slot {form.cleaned_data['slot']}{_schedule(form.cleaned_data)}"
        )
        if not changes or console_change(request, form, operation="rule_update", summary=summary, rule=pin, **changes):
            if not request.htmx:
                return redirect("console-pins")
            return changed_response(request, _row(request, shop, pk))
    return _row(request, shop, pk, form=form, status=400)


@require_http_methods(["POST", "DELETE"])
@vary_on_headers("HX-Request")
@console_view
def pin_delete(request, shop, pk: int):
    pin = _pin(request, shop, pk)
    form = forms.Form({})  # an empty form, valid, to hold a refusal
    form.is_valid()
    summary = f"Unpin {pin.item.title[:120]} from slot {pin.slot} of {pin.rail.key}"
    console_change(request, form, operation="rule_delete", summary=summary, rule=pin)
    if form.errors:  # a delete returns nothing: only the form tells a refusal
        refusal = " ".join(form.non_field_errors())
        if request.htmx:
            return HttpResponse(refusal, status=400)
        messages.error(request, refusal)
        return redirect("console-pins")
    if not request.htmx:
        messages.success(request, "Pin removed: its slot goes back to the ranking.")
        return redirect("console-pins")
    return changed_response(request, HttpResponse())  # the row is swapped for nothing


urlpatterns = [
    path("", pins, name="console-pins"),
    path("new/", pin_create, name="console-pins-create"),
    path("<int:pk>/", pin_row, name="console-pins-row"),
    path("<int:pk>/edit/", pin_edit, name="console-pins-edit"),
    path("<int:pk>/delete/", pin_delete, name="console-pins-delete"),
]
