"""Boosts, buries and blocks: what they target, how strongly, and when."""

from datetime import datetime

from django import forms
from django.utils import timezone

from catalog.models import Shop

from ..models import Adjustment, AdjustmentTarget, Block, Campaign
from .common import ScheduleForm, ShopItemField

MULTIPLIER_HELP = "Above 1 boosts (2 doubles an item's score), below 1 buries (0.5 halves it); from 0.01 to 100."
MULTIPLIER_ERRORS = {
    "invalid": "Enter a number such as 1.5 (a boost) or 0.5 (a bury).",
    "min_value": "At least 0.01: a smaller multiplier would hide the items, block them instead.",
    "max_value": "At most 100.",
    "required": "Enter a multiplier: above 1 boosts, below 1 buries.",
}
# The fields that name each target's value, and what a missing value is called in its message.
TARGET_FIELDS = {
    AdjustmentTarget.ITEM: (("item", "an item"),),
    AdjustmentTarget.CATEGORY: (("category", "a category"),),
    AdjustmentTarget.BRAND: (("brand", "a brand"),),
    AdjustmentTarget.ATTRIBUTE: (("attribute_key", "an attribute"), ("attribute_value", "its value")),
}


def form_changes(form: forms.Form) -> dict:
    """The fields of a valid edit form that the merchandiser changed; a time counts as kept when only its
    seconds differ, as the date input shows none."""
    changed = {}
    for name in form.changed_data:
        before, after = form.initial.get(name), form.cleaned_data[name]
        if isinstance(before, datetime) and after == before.replace(second=0, microsecond=0):
            continue
        changed[name] = after
    return changed


def datetime_local_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RuleForm(ScheduleForm):
    """What boosts, buries and blocks share: one target and its value, a schedule, an optional campaign."""

    model: type[Adjustment] | type[Block]
    targets: tuple[str, ...] = ()

    target = forms.ChoiceField(widget=forms.RadioSelect, initial=AdjustmentTarget.ITEM)
    category = forms.CharField(required=False, max_length=500, help_text="Its subcategories match too.")
    brand = forms.CharField(required=False, max_length=200)
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(), required=False, empty_label="No campaign",
        help_text="A campaign's rule holds only while the campaign runs too.",
    )
    note = forms.CharField(required=False, max_length=300)

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [(value, AdjustmentTarget(value).label) for value in self.targets]
        self.fields["item"] = ShopItemField(shop=shop, required=False)
        self.fields["campaign"].queryset = Campaign.objects.filter(shop=shop)
        self.fields["category"].widget.attrs["list"] = "shop-categories"
        self.fields["brand"].widget.attrs["list"] = "shop-brands"
        for name in ("starts_at", "ends_at"):
            self.fields[name].widget = datetime_local_input()

    def clean(self):
        cleaned = super().clean()
        for name, label in TARGET_FIELDS.get(cleaned.get("target"), ()):
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, f"Name {label} to target.")
        ends_at = cleaned.get("ends_at")
        if ends_at and not cleaned.get("starts_at") and ends_at <= timezone.now():
            self.add_error("ends_at", "The end must be in the future (the rule starts now).")
        return cleaned

    def arguments(self) -> dict:
        """The service's arguments: the chosen target's value alone, the schedule and the campaign."""
        cleaned = self.cleaned_data
        target = {name: cleaned[name] for name, _ in TARGET_FIELDS[cleaned["target"]]}
        schedule = {name: cleaned[name] for name in ("starts_at", "ends_at", "campaign", "note")}
        return {**target, **schedule}

    def summary(self) -> str:
        return str(self.model(**self.arguments()))


class AdjustmentForm(RuleForm):
    model = Adjustment
    targets = tuple(AdjustmentTarget.values)

    attribute_key = forms.CharField(required=False, max_length=100, label="Attribute")
    attribute_value = forms.CharField(required=False, max_length=200, label="Value")
    multiplier = forms.FloatField(min_value=0.01, max_value=100, help_text=MULTIPLIER_HELP, error_messages=MULTIPLIER_ERRORS)

    def arguments(self) -> dict:
        return {**super().arguments(), "target": self.cleaned_data["target"], "multiplier": self.cleaned_data["multiplier"]}


class BlockForm(RuleForm):
    model = Block
    targets = (AdjustmentTarget.ITEM, AdjustmentTarget.CATEGORY, AdjustmentTarget.BRAND)


class RuleEditForm(ScheduleForm):
    """A rule's schedule and note changed in its row; its target stays (remove it and add another)."""

    starts_at = forms.DateTimeField(widget=datetime_local_input())
    note = forms.CharField(required=False, max_length=300)

    def __init__(self, *args, rule: Adjustment | Block, **kwargs):
        initial = {name: getattr(rule, name) for name in self.base_fields}
        super().__init__(*args, initial=initial, prefix=f"{rule._meta.model_name}-{rule.pk}", **kwargs)
        self.fields["ends_at"].widget = datetime_local_input()

    def changes(self) -> dict:
        return form_changes(self)


class AdjustmentEditForm(RuleEditForm):
    multiplier = forms.FloatField(min_value=0.01, max_value=100, help_text=MULTIPLIER_HELP, error_messages=MULTIPLIER_ERRORS)


def rule_edit_form(rule: Adjustment | Block, data=None) -> RuleEditForm:
    form_class = AdjustmentEditForm if isinstance(rule, Adjustment) else RuleEditForm
    return form_class(data, rule=rule)
