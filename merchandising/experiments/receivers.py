"""A draft that a running experiment serves is part of the shop's live rules: editing it reaches the pages.
Experiment rollups follow their events (stored, or erased with a shopper) and their experiment (deleted)."""

from django.db.models.signals import post_delete, post_save

from catalog.models import ExperimentDay, ExperimentShopper, Shop
from catalog.signals import events_stored, shopper_erasing
from homepage.cache import homepage_rules_changed

from ..models import DraftChange
from .models import Experiment
from .rollups import experiment_rollups_add, shopper_uncount


def _draft_changed(sender, instance: DraftChange, **kwargs) -> None:
    # Draft edits leave the shop's rules token alone (nothing live changes), except the edits of a draft
    # that a variant serves: every process then replays it again.
    running = Experiment.objects.filter(status=Experiment.Status.RUNNING, variants__draft_id=instance.draft_id)
    experiment = running.select_related("shop").first()
    if experiment is not None:
        homepage_rules_changed(shop=experiment.shop)


def _events_stored(sender, *, shop, event_ids: list[int], **kwargs) -> None:
    experiment_rollups_add(shop=shop, event_ids=event_ids)


def _experiment_deleted(sender, instance: Experiment, **kwargs) -> None:
    # Its rollups name it by id only (they live in catalog): they go with it, and no process counts for it again.
    ExperimentDay.objects.filter(shop_id=instance.shop_id, experiment_id=instance.pk).delete()
    ExperimentShopper.objects.filter(shop_id=instance.shop_id, experiment_id=instance.pk).delete()
    shop = Shop.objects.filter(pk=instance.shop_id).first()  # gone already where the shop's deletion took it
    if shop is not None:
        homepage_rules_changed(shop=shop)


def _shopper_erasing(sender, *, shop, shopper, **kwargs) -> None:
    shopper_uncount(shop=shop, shopper=shopper)


def signals_connect() -> None:
    events_stored.connect(_events_stored, dispatch_uid="experiments-rollups")
    shopper_erasing.connect(_shopper_erasing, dispatch_uid="experiments-shopper-erasing")
    post_delete.connect(_experiment_deleted, sender=Experiment, dispatch_uid="experiments-rollups-deleted")
    post_save.connect(_draft_changed, sender=DraftChange, dispatch_uid="experiments-draft-change")
    post_delete.connect(_draft_changed, sender=DraftChange, dispatch_uid="experiments-draft-change-delete")
