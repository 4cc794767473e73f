from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Shop, Shopper

from ..selectors import shopper_find


class PreviewForm(forms.Form):
    """Whose homepage to preview: a shopper of the shop by their storefront id; empty, a new shopper."""

    shopper = forms.CharField(required=False, max_length=128, label="Shopper id")

    def __init__(self, *args, shop: Shop, **kwargs):
        self.shop = shop
        super().__init__(*args, **kwargs)

    def clean_shopper(self) -> Shopper | None:
        external_id = self.cleaned_data["shopper"]
        if not external_id:
            return None
        shopper = shopper_find(shop=self.shop, external_id=external_id)
        if shopper is None:
            raise ValidationError(
                f"No shopper with id “{external_id}” in this shop. The API serves an unknown id the cold-start "
                "page: leave the shopper id empty to see it."
            )
        return shopper
