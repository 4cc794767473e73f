"""Campaigns: their dates and banner, the pins added from a campaign's page, and the date its homepage
is previewed at."""

from django import forms

from catalog.models import Shop

from ..models import Campaign, Rail
from .common import ScheduleForm, ShopItemField
from .preview import PreviewForm as ShopperPreviewForm
from .rules import datetime_local_input, form_changes

CAMPAIGN_FIELDS = ("name", "starts_at", "ends_at", "banner_title", "banner_image_url", "banner_link_url")


class CampaignForm(ScheduleForm):
    name = forms.CharField(max_length=200)
    starts_at = forms.DateTimeField(widget=datetime_local_input(), help_text="UTC.")
    ends_at = forms.DateTimeField(widget=datetime_local_input(), help_text="UTC; the campaign and its rules stop then.")
    banner_title = forms.CharField(required=False, max_length=200, help_text="Empty: the campaign's name.")
    banner_image_url = forms.URLField(required=False, max_length=1000, assume_scheme="https", label="Banner image URL")
    banner_link_url = forms.URLField(required=False, max_length=1000, assume_scheme="https", label="Banner link URL")

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        if campaign is not None:
            kwargs["initial"] = {name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}
        super().__init__(*args, **kwargs)

    def changes(self) -> dict:
        return form_changes(self)


class CampaignPinForm(ScheduleForm):
    """An item held at a slot of a rail while the campaign (and the pin's own dates) run."""

    rail = forms.ModelChoiceField(queryset=Rail.objects.none(), empty_label=None)
    slot = forms.IntegerField(min_value=1, max_value=50, initial=1, help_text="1 is the first slot.")
    note = forms.CharField(required=False, max_length=300)

    def __init__(self, *args, shop: Shop, **kwargs):
        kwargs.setdefault("prefix", "pin")
        super().__init__(*args, **kwargs)
        self.fields["rail"].queryset = Rail.objects.filter(shop=shop).order_by("position", "pk")
        self.fields["item"] = ShopItemField(shop=shop)
        for name in ("starts_at", "ends_at"):
            self.fields[name].widget = datetime_local_input()


class PreviewForm(ShopperPreviewForm):
    """The moment the homepage is previewed at, and for whom (nobody: the page of a new shopper)."""

    at = forms.DateTimeField(widget=datetime_local_input(), label="Date", help_text="UTC.")

    def __init__(self, *args, shop: Shop, **kwargs):
        kwargs.setdefault("prefix", "preview")
        super().__init__(*args, shop=shop, **kwargs)
