"""The audit log's filters, read from the query string."""

from django import forms

from catalog.models import Shop

from .. import selectors
from ..services.audit import logged_model


def _type_label(object_type: str) -> str:
    model = logged_model(object_type)
    return str(model._meta.verbose_name).capitalize() if model is not None else object_type


class AuditFilterForm(forms.Form):
    user = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Who")
    object_type = forms.ChoiceField(required=False, label="What")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, shop: Shop):
        super().__init__(data)
        users, types = selectors.audit_filter_choices(shop=shop)
        self.fields["user"].choices = [("", "anyone"), *((str(pk), name) for pk, name in users)]
        self.fields["object_type"].choices = [("", "anything"), *((kind, _type_label(kind)) for kind in types)]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "Must not be before the start.")
        return cleaned

    def filters(self) -> dict:
        """The valid filters, as selectors.audit_entries takes them; an invalid one is left out."""
        if not self.is_bound:
            return {}
        self.is_valid()
        names = {"user": "user_id", "object_type": "object_type", "since": "since", "until": "until"}
        return {names[name]: value for name, value in self.cleaned_data.items() if value not in (None, "")}
