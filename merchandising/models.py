from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Item, Shop
from homepage.rules import RailKind

from .validators import unit_interval


class Membership(models.Model):
    """A console user works in the shops they are a member of, and sees nothing of the others."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shop"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.shop}"


class Campaign(models.Model):
    """A dated promotion: a banner, and the pins, boosts, buries and blocks grouped under it."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    banner_title = models.CharField(max_length=200, blank=True)
    banner_image_url = models.URLField(max_length=1000, blank=True)
    banner_link_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start")]
        indexes = [models.Index(fields=["shop", "starts_at", "ends_at"], name="campaign_shop_window")]
        ordering = ["shop", "-starts_at"]

    def __str__(self) -> str:
        return self.name

    def is_live(self, at) -> bool:
        return self.starts_at <= at < self.ends_at


class Rail(models.Model):
    """One row of a shop's homepage: where it sits, what feeds it and how its items are ranked."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="rails")
    key = models.SlugField(max_length=64, help_text="Stable id the storefront uses (rails=…) and events send back.")
    title = models.CharField(
        max_length=200, help_text="May name {seed} (because_you_viewed), {category} (top_in_category) or {campaign}."
    )
    kind = models.CharField(max_length=24, choices=RailKind.choices)
    size = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1), MaxValueValidator(50)])
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Page order, smallest first.")
    blend_weights = models.JSONField(
        default=dict, blank=True,
        help_text='Weight per model family, e.g. {"sequential": 0.5, "mf": 0.2, "text": 0.1, "popularity": 0.2}; empty: the kind\'s default.',
    )
    diversity = models.FloatField(
        default=0.3, validators=unit_interval("Diversity"), help_text="λ of the re-rank: 0 pure relevance, 1 most diverse."
    )
    max_per_category = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: no cap.")
    max_per_brand = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: no cap.")
    exploration_share = models.FloatField(
        default=0.10, validators=unit_interval("Exploration share"),
        help_text="Share of slots given to new or rarely shown items, so they earn data.",
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="rails",
        help_text="Campaign rails: this campaign's banner; empty: any live campaign of the shop.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="rail_key_unique_per_shop"),
            models.CheckConstraint(condition=Q(diversity__gte=0, diversity__lte=1), name="rail_diversity_in_unit_interval"),
            models.CheckConstraint(
                condition=Q(exploration_share__gte=0, exploration_share__lte=1), name="rail_exploration_in_unit_interval"
            ),
            models.CheckConstraint(condition=Q(size__gte=1, size__lte=50), name="rail_size_1_to_50"),
        ]
        ordering = ["shop", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_kind_display()})"


class Scheduled(models.Model):
    """A rule that holds from starts_at to ends_at (open-ended when empty), and only while its campaign runs."""

    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until removed.")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="%(class)ss",
        help_text="A campaign's rule holds only inside the campaign's dates too.",
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def is_live(self, at) -> bool:
        if at < self.starts_at or (self.ends_at is not None and at >= self.ends_at):
            return False
        return self.campaign is None or self.campaign.is_live(at)


class Pin(Scheduled):
    """An item held at a fixed slot of a rail while the pin is live."""

    rail = models.ForeignKey(Rail, on_delete=models.CASCADE, related_name="pins")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="pins")
    slot = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)], help_text="1 is the first slot.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(slot__gte=1), name="pin_slot_from_1"),
            models.CheckConstraint(condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="pin_ends_after_start"),
        ]
        ordering = ["rail", "slot", "pk"]

    def __str__(self) -> str:
        return f"{self.item} at slot {self.slot} of {self.rail.key}"


class AdjustmentTarget(models.TextChoices):
    ITEM = "item"
    CATEGORY = "category"
    BRAND = "brand"
    ATTRIBUTE = "attribute"


class Adjustment(Scheduled):
    """A boost (multiplier above 1) or a bury (below 1) of the items a target matches."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="adjustments")
    target = models.CharField(max_length=16, choices=AdjustmentTarget.choices)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, null=True, blank=True, related_name="adjustments")
    category = models.CharField(max_length=500, blank=True, help_text="A category path; its subcategories match too.")
    brand = models.CharField(max_length=200, blank=True)
    attribute_key = models.CharField(max_length=100, blank=True)
    attribute_value = models.CharField(max_length=200, blank=True)
    multiplier = models.FloatField(
        validators=[MinValueValidator(0.01), MaxValueValidator(100.0)], help_text="Above 1 boosts, below 1 buries."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="adjustment_multiplier_positive"),
            models.CheckConstraint(
                condition=(
                    Q(target="item", item__isnull=False)
                    | (Q(target="category") & ~Q(category=""))
                    | (Q(target="brand") & ~Q(brand=""))
                    | (Q(target="attribute") & ~Q(attribute_key=""))
                ),
                name="adjustment_target_named",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="adjustment_ends_after_start"
            ),
        ]
        ordering = ["shop", "-created_at"]

    def __str__(self) -> str:
        verb = "Boost" if self.multiplier >= 1 else "Bury"
        return f"{verb} ×{self.multiplier:g} {self.target_label}"

    @property
    def target_label(self) -> str:
        if self.target == AdjustmentTarget.ITEM:
            return f"item {self.item}"
        if self.target == AdjustmentTarget.ATTRIBUTE:
            return f"{self.attribute_key}={self.attribute_value}"
        return f"{self.target} {self.category or self.brand}"

    @property
    def target_key(self) -> tuple:
        """What the adjustment matches: two adjustments with the same key match the same items."""
        return (self.target, self.item_id, self.category, self.brand, self.attribute_key, self.attribute_value)

    def matches(self, item: Item) -> bool:
        if self.target == AdjustmentTarget.ITEM:
            return self.item_id == item.pk
        if self.target == AdjustmentTarget.CATEGORY:
            return item.in_category(self.category)
        if self.target == AdjustmentTarget.BRAND:
            return item.brand == self.brand
        value = (item.attributes or {}).get(self.attribute_key)
        return value is not None and str(value) == self.attribute_value


class Block(Scheduled):
    """Items that must not be shown: one item, a category (with its subcategories) or a brand."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="blocks")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, null=True, blank=True, related_name="blocks")
    category = models.CharField(max_length=500, blank=True)
    brand = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(item__isnull=False) | ~Q(category="") | ~Q(brand=""), name="block_names_a_target"
            ),
            models.CheckConstraint(condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="block_ends_after_start"),
        ]
        ordering = ["shop", "-created_at"]

    def __str__(self) -> str:
        return f"Block {self.item or self.category or self.brand}"

    def matches(self, item: Item) -> bool:
        return (
            (self.item_id is not None and self.item_id == item.pk)
            or (bool(self.category) and item.in_category(self.category))
            or (bool(self.brand) and item.brand == self.brand)
        )


class AuditEntry(models.Model):
    """One change to a shop's homepage rules: who made it, what it was, and the rule before and after."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="audit_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    action = models.CharField(max_length=40, help_text="What was done: rail_update, pin_create, draft_publish…")
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["shop", "-created_at"], name="audit_shop_recent")]
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.user or 'system'}: {self.action} {self.object_repr}"


class Draft(models.Model):
    """A merchandiser's pending edits to the rules, previewed beside the live page until published."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="drafts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "author"], condition=Q(published_at__isnull=True, discarded_at__isnull=True),
                name="draft_one_open_per_author_and_shop",
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Draft #{self.pk} of {self.author} in {self.shop}"

    @property
    def is_open(self) -> bool:
        return self.published_at is None and self.discarded_at is None


class DraftChange(models.Model):
    """One edit held in a draft: a rule operation and its arguments, replayed in order when published."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="changes")
    operation = models.CharField(max_length=40)
    arguments = models.JSONField(default=dict)
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["draft", "pk"]

    def __str__(self) -> str:
        return self.summary

    @property
    def made_pk(self) -> int | None:
        """The id of the row this change makes, which every replay of the draft gives it; None for an edit."""
        return self.arguments.get("pk")


# Experiments live in their own module; imported here so that Django registers them with this app.
from .experiments.models import Experiment, Variant  # noqa: E402, F401
