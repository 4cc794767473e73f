from django.db import models
from django.db.models import Q
from pgvector.django import VectorField

from catalog.models import Item, Shop, Shopper

TEXT_DIMENSIONS = 384


class Family(models.TextChoices):
    POPULARITY = "popularity", "Popularity and trends"
    MF = "mf", "Matrix factorization"
    TEXT = "text", "Text encoder"
    SEQUENTIAL = "sequential", "Sequential transformer"
    # Scores nobody itself: while it serves, the text and sequential families read its item vectors.
    FINETUNED_TEXT = "finetuned_text", "Fine-tuned text encoder"


class ModelVersion(models.Model):
    """One training run of one model family for one shop, and the model it produced."""

    class Phase(models.TextChoices):
        LOADING = "loading", "Loading events"
        BUILDING = "building", "Building data"
        TRAINING = "training", "Training"
        EVALUATING = "evaluating", "Evaluating"
        SAVING = "saving", "Saving"
        PUBLISHING = "publishing", "Publishing"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    IN_FLIGHT = (Status.QUEUED, Status.RUNNING)

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="model_versions")
    family = models.CharField(max_length=16, choices=Family.choices)
    number = models.PositiveIntegerField(editable=False, help_text="1, 2, 3… per shop and family, in the order the runs were queued.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    is_active = models.BooleanField(default=False, help_text="The version that serves; one per family and shop.")
    hyperparameters = models.JSONField(default=dict, blank=True)
    data_window = models.JSONField(default=dict, blank=True, help_text="First and last event time trained on.")
    counts = models.JSONField(default=dict, blank=True, help_text="Shoppers, items and events trained on.")
    device = models.CharField(max_length=32, blank=True)
    budget_note = models.CharField(max_length=300, blank=True)
    time_limit_s = models.FloatField(null=True, blank=True)
    wall_seconds = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="Offline metrics on the held-out last events.")
    history = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    progress = models.FloatField(default=0.0)
    progress_message = models.CharField(max_length=300, blank=True)
    progress_phase = models.CharField(max_length=16, choices=Phase.choices, blank=True)
    progress_done_at = models.DateTimeField(
        null=True, blank=True, help_text="When the run should end, estimated from its progress so far; empty until it can tell."
    )
    held_back = models.CharField(
        max_length=300, blank=True, help_text="Why a succeeded version did not start serving on its own: it waits for a person."
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the process training it; a run silent past its lease has died."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "family"], condition=Q(is_active=True), name="one_active_version_per_family"
            ),
            # Two web processes pressing Train at once must not both queue a run.
            models.UniqueConstraint(
                fields=["shop", "family"], condition=Q(status__in=["queued", "running"]), name="one_run_in_flight_per_family"
            ),
            models.UniqueConstraint(fields=["shop", "family", "number"], name="one_number_per_version_of_a_family"),
        ]
        indexes = [models.Index(fields=["shop", "family", "-created_at"], name="version_shop_family_created")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.label} ({self.status})"

    @property
    def label(self) -> str:
        """How people name the version: "Sequential transformer v4"."""
        return f"{self.get_family_display()} v{self.number}"

    @property
    def primary_metric(self) -> float | None:
        """The offline metric that decides whether it beats the version serving: NDCG@10 of the held-out last
        events, and for the encoder that of the held-out (cold) items, which is what it is trained for."""
        if self.family == Family.FINETUNED_TEXT:
            return ((self.metrics.get("cold_start") or {}).get("fine_tuned") or {}).get("ndcg_10")
        return self.metrics.get("ndcg_10")

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}


class ItemEmbedding(models.Model):
    """An item's text embedding; recomputed only when the item's text or the encoder changes.

    Stored, not searched, in the database: nearest neighbours are found in each process's catalog
    snapshot (`homepage.snapshot`), and the embedded pgvector build's distance functions need AVX-512,
    which many CPUs lack (they stop the server with an illegal instruction). So there is no vector index.
    """

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True, related_name="embedding")
    encoder = models.CharField(max_length=300)
    text_hash = models.CharField(max_length=40)
    vector = VectorField(dimensions=TEXT_DIMENSIONS)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by a database trigger on every write (catalog.Item.change_xid's): snapshots read what changed since.
    change_xid = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        indexes = [models.Index(fields=["change_xid"], name="item_embedding_change")]


class QueryEmbedding(models.Model):
    """The text embedding of a shop's search words, as shoppers typed them once normalised (lower case, single
    spaces): a search is interest too, before any click."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="query_embeddings")
    text = models.CharField(max_length=500)
    encoder = models.CharField(max_length=300)
    vector = VectorField(dimensions=TEXT_DIMENSIONS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "text"], name="query_embedding_unique_per_shop")]


class ShopperProfile(models.Model):
    """What a shopper is into, from their weighted recent events: top categories, brands and title words."""

    shopper = models.OneToOneField(Shopper, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    tags = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)
