import hashlib
import hmac

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

CATEGORY_SEPARATOR = " > "


class EventType(models.TextChoices):
    IMPRESSION = "impression"
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    SEARCH = "search"
    RATING = "rating"
    DISLIKE = "dislike"


# How much one event of each type says about a shopper's interest, for training.
# Impressions and searches carry no item preference; a dislike is a filter, not a signal.
DEFAULT_EVENT_WEIGHTS = {
    EventType.IMPRESSION: 0.0,
    EventType.VIEW: 1.0,
    EventType.CLICK: 2.0,
    EventType.ADD_TO_CART: 4.0,
    EventType.PURCHASE: 8.0,
    EventType.SEARCH: 0.0,
    EventType.RATING: 3.0,
    EventType.DISLIKE: 0.0,
}


def default_event_weights() -> dict:
    return {str(key): value for key, value in DEFAULT_EVENT_WEIGHTS.items()}


class Shop(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    event_weights = models.JSONField(
        default=default_event_weights,
        help_text="Training weight of each event type, e.g. {\"purchase\": 8, \"view\": 1}.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    def event_weight(self, event_type: str) -> float:
        return float(self.event_weights.get(event_type, DEFAULT_EVENT_WEIGHTS.get(event_type, 0.0)))


class ApiKey(models.Model):
    """A storefront's key: only its hash is stored; the key itself is shown once, at creation."""

    PREFIX_LENGTH = 8

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["shop", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    def matches(self, raw_key: str) -> bool:
        return not self.revoked and hmac.compare_digest(self.key_hash, self.hash_key(raw_key))


class Item(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=128)
    title = models.CharField(max_length=1000)
    description = models.TextField(blank=True)
    category_path = models.CharField(max_length=500, blank=True, help_text="Categories from the root, ' > '-separated.")
    brand = models.CharField(max_length=200, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    available = models.BooleanField(default=True)
    attributes = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=40, editable=False, help_text="Hash of the fields above; unchanged items are not rewritten.")
    interaction_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by a database trigger on every write, whoever makes it: catalog snapshots read what changed since.
    change_xid = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "external_id"], name="item_external_id_unique_per_shop")]
        indexes = [
            models.Index(fields=["shop", "created_at"], name="item_shop_created"),
            models.Index(fields=["shop", "change_xid"], name="item_shop_change"),
        ]
        ordering = ["shop", "external_id"]

    def __str__(self) -> str:
        return self.title

    @property
    def categories(self) -> list[str]:
        return [part for part in self.category_path.split(CATEGORY_SEPARATOR) if part]

    @property
    def top_category(self) -> str:
        categories = self.categories
        return categories[0] if categories else ""

    def in_category(self, category: str) -> bool:
        # A category names a node of the tree: "Makeup" holds "Makeup > Lips".
        path = self.category_path
        return path == category or path.startswith(category + CATEGORY_SEPARATOR)


class ItemRemoval(models.Model):
    """An item deleted, written by a database trigger: catalog snapshots drop it on their next change read.

    No foreign keys: the shop's own deletion removes items too. Rows older than a snapshot's longest life
    are pruned (`catalog.services.item_removals_prune`).
    """

    shop_id = models.BigIntegerField()
    item_id = models.BigIntegerField()
    change_xid = models.BigIntegerField()
    removed_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [
            models.Index(fields=["shop_id", "change_xid"], name="item_removal_shop_change"),
            models.Index(fields=["removed_at"], name="item_removal_removed_at"),
        ]


class Shopper(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="shoppers")
    external_id = models.CharField(max_length=128)
    attributes = models.JSONField(default=dict, blank=True)
    personalization_opt_out = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="shopper_external_id_unique_per_shop")
        ]
        ordering = ["shop", "external_id"]

    def __str__(self) -> str:
        return self.external_id


class Event(models.Model):
    # The composite indexes below lead with shop, shopper and item: single-column ones would only slow inserts.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="events", db_index=False)
    event_id = models.CharField(max_length=128, help_text="The storefront's id; resending it stores nothing new.")
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="events", db_index=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, null=True, blank=True, related_name="events", db_index=False)
    type = models.CharField(max_length=16, choices=EventType.choices)
    value = models.FloatField(null=True, blank=True, help_text="Rating or quantity.")
    query = models.CharField(max_length=500, blank=True)
    session_id = models.CharField(max_length=128, blank=True)
    occurred_at = models.DateTimeField()
    context = models.JSONField(default=dict, blank=True, help_text="request_id, rail and slot of the impression it came from.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "event_id"], name="event_id_unique_per_shop"),
            models.CheckConstraint(
                condition=Q(type=EventType.SEARCH) | Q(item__isnull=False), name="event_item_required_unless_search"
            ),
        ]
        indexes = [
            models.Index(fields=["shopper", "occurred_at"], name="event_shopper_time"),
            models.Index(fields=["item", "occurred_at"], name="event_item_time"),
            models.Index(fields=["shop", "type", "occurred_at"], name="event_shop_type_time"),
        ]
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# Rollups: what the console and experiment reports read instead of scanning events. catalog.rollups keeps
# them as events are stored (in the batch's own transaction) and `manage.py rollups_rebuild` recounts them.
# The experiment ones live here too, keyed by the experiment's id: catalog knows nothing of merchandising.


class RailHour(models.Model):
    """One rail's outcomes in one hour (UTC), from the events the storefront sent back with its key in `context`;
    rail "" counts the pages served as a whole."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    rail = models.CharField(max_length=64)
    hour = models.DateTimeField()
    pages = models.PositiveBigIntegerField(default=0, help_text="Pages served that showed the rail, counted at serve time.")
    impressions = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)
    add_to_carts = models.PositiveBigIntegerField(default=0)
    purchases = models.PositiveBigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0, help_text="Quantity × catalog price.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "rail", "hour"], name="rail_hour_unique")]


class EventHour(models.Model):
    """How many events of one type a shop stored for one hour (UTC) of occurrence."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    type = models.CharField(max_length=16)
    events = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "hour", "type"], name="event_hour_unique")]


class ExperimentDay(models.Model):
    """One variant's outcomes on one day (UTC), per rail; rail "" holds the page as a whole and the purchases
    attributed to the variant by its window rather than to a rail."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    experiment_id = models.PositiveBigIntegerField()
    variant = models.CharField(max_length=32)
    day = models.DateField()
    rail = models.CharField(max_length=64, blank=True)
    pages = models.PositiveBigIntegerField(default=0, help_text="Pages served, counted at serve time.")
    clicks = models.PositiveBigIntegerField(default=0)
    add_to_carts = models.PositiveBigIntegerField(default=0)
    purchases = models.PositiveBigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    # On rail "" only: shoppers first counted that day (ExperimentShopper), and what that day's purchases added
    # to the sum over purchasers of their revenue squared.
    visitors = models.BigIntegerField(default=0, db_default=0)
    purchasers = models.BigIntegerField(default=0, db_default=0)
    revenue_squares = models.DecimalField(max_digits=30, decimal_places=4, default=0, db_default=0)
    # CUPED's sums, from the visitors first counted that day: their pre-experiment value x of the primary metric,
    # x squared, and x times their value in the experiment (added to as that value grows).
    pre_sum = models.DecimalField(max_digits=30, decimal_places=4, default=0, db_default=0)
    pre_squares = models.DecimalField(max_digits=30, decimal_places=4, default=0, db_default=0)
    pre_cross = models.DecimalField(max_digits=30, decimal_places=4, default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "experiment_id", "variant", "day", "rail"], name="experiment_day_unique")
        ]


class ExperimentShopper(models.Model):
    """A shopper counted once per variant as a visitor or a purchaser, from the day of their first such event
    on: adding it adds them to that day's distinct count (ExperimentDay.visitors, .purchasers). A purchaser's
    revenue over the experiment is kept for comparisons of revenue per visitor. Erasing the shopper takes
    them out of the counts (merchandising.experiments.rollups) before their rows go."""

    class Outcome(models.TextChoices):
        VISIT = "visit"
        PURCHASE = "purchase"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    experiment_id = models.PositiveBigIntegerField()
    variant = models.CharField(max_length=32)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+")
    first_day = models.DateField()
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0, help_text="A purchaser's, in the experiment.")
    pre_value = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, db_default=0,
        help_text="A visitor's primary metric in the weeks before the experiment (CUPED's covariate).",
    )
    cross = models.DecimalField(
        max_digits=30, decimal_places=4, default=0, db_default=0, help_text="A visitor's pre_value times their metric since.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "experiment_id", "variant", "outcome", "shopper"], name="experiment_shopper_unique"
            )
        ]