"""The experiment a merchandiser sets up: what is tested against the live page, on how much traffic."""

from django import forms
from django.conf import settings

from catalog.models import Shop
from recommender.models import Family, ModelVersion

from ..experiments.models import Experiment, Variant
from ..models import Draft

HOLDOUT = "holdout"


def _challengers(shop: Shop) -> list[tuple[str, str]]:
    """What a variant can serve: an open draft, a succeeded model version not serving, or no personalization."""
    drafts = Draft.objects.filter(shop=shop, published_at=None, discarded_at=None).select_related("author")
    versions = (
        ModelVersion.objects.filter(shop=shop, status=ModelVersion.Status.SUCCEEDED, is_active=False)
        .exclude(family=Family.FINETUNED_TEXT).order_by("family", "-number")
    )
    return [
        *((f"draft:{draft.pk}", f"Draft #{draft.pk} of {draft.author}") for draft in drafts),
        *((f"version:{version.pk}", f"{version.label} in place of the serving one") for version in versions),
        (HOLDOUT, "Holdout: the page without personalization"),
    ]


class ExperimentForm(forms.Form):
    name = forms.CharField(max_length=200)
    hypothesis = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="What should change, and why.")
    challenger = forms.ChoiceField(label="Test", help_text="Against control, the page every shopper sees now.")
    primary_metric = forms.ChoiceField(choices=Experiment.Metric.choices, initial=Experiment.Metric.CONVERSION)
    traffic_percent = forms.IntegerField(
        label="Traffic (%)", min_value=1, max_value=100, initial=100, help_text="Of the shop's shoppers, the share in the test."
    )
    challenger_percent = forms.IntegerField(
        label="Shown the variant (%)", min_value=1, max_value=99, initial=50, help_text="Of the shoppers in the test."
    )
    bandit = forms.BooleanField(
        label="Bandit mode", required=False,
    )

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.fields["challenger"].choices = _challengers(shop)
        self.fields["bandit"].help_text = (
            "Every hour, move traffic toward the variant likelier to be best on the primary metric; each keeps at least "
            f"{settings.VITRINE_BANDIT_FLOOR:.0%}. Not for revenue per visitor."
        )

    def arguments(self) -> dict:
        """The arguments of experiment_against_control_create."""
        cleaned = self.cleaned_data
        kind, _, pk = cleaned["challenger"].partition(":")
        challenger = {
            "draft": lambda: {"challenger_kind": Variant.Kind.DRAFT, "draft": Draft.objects.get(pk=pk, shop=self.shop)},
            "version": lambda: {
                "challenger_kind": Variant.Kind.MODEL_VERSION, "model_version": ModelVersion.objects.get(pk=pk, shop=self.shop),
            },
            HOLDOUT: lambda: {"challenger_kind": Variant.Kind.HOLDOUT},
        }[kind]()
        return {
            "name": cleaned["name"], "hypothesis": cleaned["hypothesis"], "primary_metric": cleaned["primary_metric"],
            "traffic_share": cleaned["traffic_percent"] / 100, "challenger_share": cleaned["challenger_percent"] / 100,
            "bandit": cleaned["bandit"],
            **challenger,
        }
