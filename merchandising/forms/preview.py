from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Shop, Shopper
from homepage.arms import Arm

from ..experiments.assignment import variant_arm
from ..experiments.models import Experiment, Variant
from ..selectors import shopper_find


class PreviewForm(forms.Form):
    """Whose homepage to preview: a shopper of the shop by their storefront id; empty, a new shopper."""

    shopper = forms.CharField(required=False, max_length=128, label="Shopper id")
    # Any number is read, so that a variant no longer running (a stale link, a page left open) is refused with why.
    variant = forms.IntegerField(
        required=False, widget=forms.Select, label="As served in",
        help_text="The live page, or a variant of a running experiment, whoever the shopper is.",
    )

    def __init__(self, *args, shop: Shop, **kwargs):
        self.shop = shop
        super().__init__(*args, **kwargs)
        running = Variant.objects.filter(experiment__shop=shop, experiment__status=Experiment.Status.RUNNING)
        self.fields["variant"].widget.choices = [("", "The live page"), *(
            (variant.pk, f"{variant.experiment.name}: {variant.name}")
            for variant in running.select_related("experiment").order_by("experiment__pk", "pk")
        )]

    def clean_variant(self) -> Arm | None:
        variant_pk = self.cleaned_data["variant"]
        if variant_pk is None:
            return None
        arm = variant_arm(shop=self.shop, variant_pk=variant_pk)
        if arm is None:  # its experiment stopped since the form was drawn
            raise ValidationError("This experiment is no longer running: choose the live page or another variant.")
        return arm

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
