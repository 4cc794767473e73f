"""A run's lease on its version: the heartbeat that keeps it, the reaper that fails the runs that lost it,
and ending a version only while nothing else has ended it."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone

from catalog.models import Shop

from ...models import ModelVersion

logger = logging.getLogger(__name__)
# A running version's process says it is alive this often at most, and always well inside its lease.
HEARTBEAT_EVERY_S = 10.0


def training_runs_reap_stale(*, shop: Shop | None = None) -> int:
    """Fail the runs that will never end on their own; the versions serving before them keep serving.

    A running version whose process has said nothing for VITRINE_TRAIN_LEASE_S has died (killed, crashed,
    its machine gone). A version queued for VITRINE_TRAIN_QUEUED_TIMEOUT_S while no worker trained anything
    for a lease was never taken from the train queue (no worker serves it, or its message was lost with a
    worker); while any worker trains, a long queue is only busy, and its runs wait their turn.
    """
    now = timezone.now()
    lease_s = settings.VITRINE_TRAIN_LEASE_S
    silent_since = now - timedelta(seconds=lease_s)
    versions = ModelVersion.objects.all() if shop is None else ModelVersion.objects.filter(shop=shop)
    dead = versions.filter(status=ModelVersion.Status.RUNNING).filter(
        Q(heartbeat_at__lt=silent_since) | Q(heartbeat_at__isnull=True, started_at__lt=silent_since)
    )
    reaped = dead.update(
        status=ModelVersion.Status.FAILED, finished_at=now,
        error=f"The training process stopped: nothing heard from it for {lease_s:.0f} s (killed, crashed, or its machine went away).",
    )
    timeout_s = settings.VITRINE_TRAIN_QUEUED_TIMEOUT_S
    if not ModelVersion.objects.filter(heartbeat_at__gte=silent_since).exists():
        reaped += versions.filter(status=ModelVersion.Status.QUEUED, created_at__lt=now - timedelta(seconds=timeout_s)).update(
            status=ModelVersion.Status.FAILED, finished_at=now,
            error=f"Never started: no worker took this run from the train queue within {timeout_s / 60:.0f} min. "
            "Check that a worker serves the train queue, then train again.",
        )
    if reaped:
        logger.warning("Failed %d training runs that would never end", reaped)
    return reaped


def _finish(version: ModelVersion, *, was: str, **fields) -> bool:
    """End the version if it is still `was`; False when something else ended it first (the reaper)."""
    fields["finished_at"] = timezone.now()
    if not ModelVersion.objects.filter(pk=version.pk, status=was).update(**fields):
        version.refresh_from_db()
        return False
    for name, value in fields.items():
        setattr(version, name, value)
    return True


@contextmanager
def _heartbeat(version: ModelVersion) -> Iterator[None]:
    """Keep the version's lease while the block runs, progress or not: an evaluation reports none for minutes."""
    every_s = min(HEARTBEAT_EVERY_S, settings.VITRINE_TRAIN_LEASE_S / 4)
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every_s):
                try:
                    ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.RUNNING).update(heartbeat_at=timezone.now())
                except DatabaseError:
                    # The database is away for a moment; the next beat reconnects. A lease outlasts a few missed beats.
                    logger.warning("Heartbeat of %s #%s not recorded", version.family, version.pk, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{version.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
