"""Experiments as data: what is compared, on which share of a shop's traffic, split how.

Several experiments of a shop may run at once on mutually exclusive traffic. Each running experiment
holds a slice of the shop's shoppers, `traffic_offset` to `traffic_offset + traffic_share` on the unit
interval, kept from its start to its end so that another experiment starting or stopping moves no
shopper; the slices of running experiments never overlap, so they never sum past 1. A shopper's hash
of the shop picks the slice (or none: their page is the usual one), then a hash of the experiment
picks the variant by the variants' cumulative shares (merchandising.experiments.assignment).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from catalog.models import Shop
from recommender.models import ModelVersion

from ..validators import unit_interval


class Experiment(models.Model):
    """A comparison of homepage variants on live traffic, judged by one primary metric."""

    class Metric(models.TextChoices):
        CLICK_THROUGH = "click_through", "Click-through rate"
        ADD_TO_CART_RATE = "add_to_cart_rate", "Add-to-cart rate"
        CONVERSION = "conversion", "Conversion rate"
        REVENUE_PER_VISITOR = "revenue_per_visitor", "Revenue per visitor"

    class Status(models.TextChoices):
        DRAFT = "draft"
        RUNNING = "running"
        STOPPED = "stopped"
        SHIPPED = "shipped"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True, help_text="What should change, and why.")
    primary_metric = models.CharField(max_length=24, choices=Metric.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    traffic_share = models.FloatField(
        default=1.0, validators=unit_interval("Traffic share"), help_text="Share of the shop's shoppers in the experiment."
    )
    traffic_offset = models.FloatField(
        null=True, blank=True, help_text="Where its slice of traffic starts; set when it starts, kept until it ends."
    )
    bandit = models.BooleanField(default=False, help_text="Shares follow the variants' results (Thompson sampling).")
    attribution_window_hours = models.PositiveIntegerField(
        default=24, validators=[MinValueValidator(1)], help_text="How long after a page an event still counts for it."
    )
    shipped_variant = models.ForeignKey(
        "Variant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="The variant shipped."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="experiments"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(traffic_share__gt=0, traffic_share__lte=1), name="experiment_traffic_share_in_unit_interval"
            ),
            models.CheckConstraint(
                condition=Q(attribution_window_hours__gte=1), name="experiment_attribution_window_positive"
            ),
        ]
        indexes = [models.Index(fields=["shop", "status"], name="experiment_shop_status")]
        ordering = ["shop", "-created_at"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.bandit and self.primary_metric == self.Metric.REVENUE_PER_VISITOR:
            raise ValidationError(
                {"bandit": "Bandit mode follows a rate: choose click-through, add-to-cart rate or conversion as the primary metric."}
            )


class Variant(models.Model):
    """One arm of an experiment: the usual page, a draft's rules, another model version, or no personalization."""

    class Kind(models.TextChoices):
        CONTROL = "control", "Control (the live page)"
        DRAFT = "draft", "A draft's rules"
        MODEL_VERSION = "model_version", "Another model version"
        HOLDOUT = "holdout", "Holdout (personalization off)"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=32, help_text='Stable id in API responses, e.g. "control" or "b".')
    name = models.CharField(max_length=200)
    share = models.FloatField(validators=unit_interval("Share"), help_text="Share of the experiment's shoppers.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    draft = models.ForeignKey("merchandising.Draft", on_delete=models.PROTECT, null=True, blank=True, related_name="variants")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="variants"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="variant_key_unique_per_experiment"),
            models.CheckConstraint(condition=Q(share__gte=0, share__lte=1), name="variant_share_in_unit_interval"),
            models.CheckConstraint(
                condition=(
                    Q(kind="draft", draft__isnull=False, model_version__isnull=True)
                    | Q(kind="model_version", model_version__isnull=False, draft__isnull=True)
                    | (Q(kind__in=["control", "holdout"], draft__isnull=True, model_version__isnull=True))
                ),
                name="variant_names_what_its_kind_needs",
            ),
        ]
        ordering = ["experiment", "pk"]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_kind_display()})"


class Allocation(models.Model):
    """The variants' shares of a running experiment from `since` on: those set, recorded at its start, then the
    ones a bandit experiment's hourly reallocation draws. Pages are served by the latest; an event is counted
    for the variant the allocation of its time placed its shopper in."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="allocations")
    since = models.DateTimeField()
    shares = models.JSONField(help_text="Share of the experiment's shoppers per variant key.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "since"], name="allocation_unique_per_time")]
        ordering = ["experiment", "since"]

    def __str__(self) -> str:
        return f"{self.experiment} from {self.since:%Y-%m-%d %H:%M}"
