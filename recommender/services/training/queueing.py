"""Queueing training runs on the train queue, and failing those the queue never took."""

import logging

from django.db import transaction

from catalog.models import Shop

from ...dispatch import BROKER_ERRORS, versions_train_queue
from ...models import ModelVersion
from .families import SCHEDULED_FAMILIES, TEXT_FAMILIES
from .lease import _finish
from .versions import training_versions_create

logger = logging.getLogger(__name__)
QUEUE_UNREACHABLE = "The task queue is unreachable; nothing was queued. Try again when it is back."


def training_dispatch(
    *, shop: Shop, families: list[str] | None = None, time_limit_s: float | None = None, skip_in_flight: bool = False
) -> list[ModelVersion]:
    """Queue a training run per family (default: SCHEDULED_FAMILIES), one after another on the train queue
    (the encoder before the text and sequential models), once the transaction commits.

    While the broker is down nothing is queued: as the transaction commits the versions end failed with
    QUEUE_UNREACHABLE, in these objects too, so a caller reads `status` after its transaction.
    """
    versions = training_versions_create(
        shop=shop, families=families or SCHEDULED_FAMILIES, time_limit_s=time_limit_s, skip_in_flight=skip_in_flight
    )
    if versions:
        transaction.on_commit(lambda: _versions_publish(versions))
    return versions


def _versions_publish(versions: list[ModelVersion]) -> None:
    try:
        versions_train_queue(version_ids=[version.pk for version in versions])
    except BROKER_ERRORS:
        logger.exception("Shop %s: could not queue %s", versions[0].shop.slug, ", ".join(f"#{version.pk}" for version in versions))
        training_versions_abandon(versions=versions, error=QUEUE_UNREACHABLE)


def training_versions_abandon(*, versions: list[ModelVersion], error: str) -> None:
    """Fail those of the versions still queued, saying why: their run will never start."""
    for version in versions:
        _finish(version, was=ModelVersion.Status.QUEUED, status=ModelVersion.Status.FAILED, error=error)


def encoder_dependents_dispatch(*, shop: Shop) -> list[ModelVersion]:
    """Retrain the families that read the serving encoder's vectors, after the encoder changed.

    A family with a run already queued or running is left out: a queued run reads the new encoder's vectors
    when it starts.
    """
    return training_dispatch(shop=shop, families=TEXT_FAMILIES, skip_in_flight=True)
