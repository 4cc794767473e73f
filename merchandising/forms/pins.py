"""The Pins page's forms: an item held at a slot of a rail, for a while or until removed."""

from datetime import datetime

from django import forms
from django.utils import timezone

from catalog.models import Shop
from homepage.services.compose import PLACEHOLDER

from ..models import Pin, Rail
from .common import ScheduleForm, ShopItemField

SLOT_MAX = 50  # a rail holds at most 50 items
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> shows


def _to_the_minute(moment: datetime | None) -> datetime | None:
    return moment.replace(second=0, microsecond=0) if moment else None


class RailChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, rail: Rail) -> str:
        # A placeholder is filled per shopper: "Because you viewed …" rather than a raw "{seed}".
        title = PLACEHOLDER.sub("…", rail.title)
        return f"{title} ({rail.key}){'' if rail.enabled else ' · disabled'}"


class PinEditForm(ScheduleForm):
    slot = forms.IntegerField(min_value=1, max_value=SLOT_MAX, help_text="1 is the first slot.")

    field_order = ["slot", "starts_at", "ends_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at"):
            self.fields[name].widget.format = DATETIME_LOCAL

    @classmethod
    def of(cls, pin: Pin, *, data=None) -> "PinEditForm":
        # To the minute, as the inputs show them: an untouched field is then no change.
        initial = {
            "slot": pin.slot, "starts_at": _to_the_minute(pin.starts_at), "ends_at": _to_the_minute(pin.ends_at),
        }
        return cls(data, initial=initial, auto_id=f"pin-{pin.pk}-%s")


class PinForm(PinEditForm):
    rail = RailChoiceField(queryset=Rail.objects.none(), empty_label=None)
    note = forms.CharField(max_length=300, required=False, help_text="Why, for whoever reads the list later.")

    field_order = ["rail", "item", "slot", "starts_at", "ends_at", "note"]

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rail"].queryset = Rail.objects.filter(shop=shop).order_by("position", "pk")
        self.fields["item"] = ShopItemField(shop=shop, help_text="Type a title or an id and pick the item.")
        self.order_fields(self.field_order)
        self.initial.setdefault("slot", 1)

    def clean_ends_at(self):
        ends_at = self.cleaned_data["ends_at"]
        if ends_at is not None and ends_at <= timezone.now():
            raise forms.ValidationError("The end is already past: this pin would never show.")
        return ends_at
