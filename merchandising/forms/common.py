"""What every console form shares: items named by their storefront id, schedules, and the services'
validation messages shown next to the fields they concern."""

from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Item, Shop


class ShopItemField(forms.CharField):
    """An item of the form's shop, typed or picked by its storefront id."""

    def __init__(self, *, shop: Shop, **kwargs):
        self.shop = shop
        super().__init__(max_length=200, **kwargs)

    def prepare_value(self, value):
        return value.external_id if isinstance(value, Item) else value

    def clean(self, value):
        external_id = super().clean(value)
        if not external_id:
            return None
        item = Item.objects.filter(shop=self.shop, external_id=external_id).first()
        if item is None:
            raise ValidationError(f"No item with id “{external_id}” in this shop: pick one from the suggestions.")
        return item


class ScheduleForm(forms.Form):
    """A start and an optional end; the end must come after the start."""

    starts_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="Empty: from now."
    )
    ends_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="Empty: until removed."
    )

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The end must come after the start.")
        return cleaned


def service_errors_attach(form: forms.Form, error: ValidationError | ValueError) -> None:
    """A service's refusal shown on the form: each message beside its field, the rest above the form."""
    if not isinstance(error, ValidationError):
        form.add_error(None, str(error))
        return
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)
