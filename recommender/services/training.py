import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from catalog.models import Shop

from ..models import Family, ModelVersion
from ..selectors import FAMILY_ORDER, active_version, shop_arrays_load
from ..dispatch import BROKER_ERRORS, versions_train_queue
from ..signals import version_promoted
from .embeddings import VECTORS_FOLDER, item_embeddings_refresh, serving_encoder, text_hash, text_model_path
from .registry import promotion_held_back, version_promote

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
# The families that read the serving encoder's item vectors, in training order.
TEXT_FAMILIES = [Family.TEXT, Family.SEQUENTIAL]
# What the nightly schedule and a new shop train. The encoder fine-tune is asked for by name (the console,
# `train --family finetuned_text`, `evaluate`): within a CPU's time limit it does not yet beat MiniLM.
SCHEDULED_FAMILIES = [family for family in Family.values if family != Family.FINETUNED_TEXT]
# The families whose training is bounded by the device's time limit.
TIME_BOUNDED_FAMILIES = {Family.SEQUENTIAL, Family.FINETUNED_TEXT}
PROGRESS_EVERY_S = 1.0
Phase = ModelVersion.Phase
# Shares of the progress bar, in the order a run goes through them, by where its time usually goes.
PHASE_SHARES = {
    Phase.LOADING: 0.05, Phase.BUILDING: 0.05, Phase.TRAINING: 0.65, Phase.EVALUATING: 0.2, Phase.SAVING: 0.03, Phase.PUBLISHING: 0.02,
}
# The text and sequential families embed every item (new or changed) while they build their data.
TEXT_PHASE_SHARES = {**PHASE_SHARES, Phase.BUILDING: 0.25, Phase.TRAINING: 0.45}
# No estimate of the time left before the run, or its phase, has gone this long and this far: a first
# second says little of the pace.
ESTIMATE_AFTER_S = 2.0
ESTIMATE_AFTER_FRACTION = 0.05
# A running version's process says it is alive this often at most, and always well inside its lease.
HEARTBEAT_EVERY_S = 10.0
IN_FLIGHT_CONSTRAINT = "one_run_in_flight_per_family"
NUMBER_CONSTRAINT = "one_number_per_version_of_a_family"
NUMBERING_ATTEMPTS = 5
QUEUE_UNREACHABLE = "The task queue is unreachable; nothing was queued. Try again when it is back."


class TrainingError(Exception):
    pass


def training_versions_create(
    *, shop: Shop, families: list[str], time_limit_s: float | None = None, skip_in_flight: bool = False
) -> list[ModelVersion]:
    """A queued version per family, in training order.

    A family with a run already queued or running gets no second one: TrainingError says so, or, with
    `skip_in_flight`, the family is left out.
    """
    unknown = set(families) - set(Family.values)
    if unknown:
        raise TrainingError(f"Unknown model family {', '.join(sorted(unknown))}; expected {', '.join(Family.values)}.")
    ordered = [family for family in FAMILY_ORDER if family in families]
    in_flight = _runs_in_flight(shop=shop, families=ordered)
    if in_flight and not skip_in_flight:
        raise TrainingError(_in_flight_message(in_flight))
    if in_flight:
        logger.info("Shop %s: %s", shop.slug, _in_flight_message(in_flight))
    busy = {version.family for version in in_flight}
    attempts_left = NUMBERING_ATTEMPTS
    while True:
        try:
            with transaction.atomic():
                return [
                    ModelVersion.objects.create(
                        shop=shop, family=family, number=_next_number(shop=shop, family=family), time_limit_s=time_limit_s
                    )
                    for family in ordered if family not in busy
                ]
        except IntegrityError as error:
            # Another process queued one of these families between the check above and this insert.
            if IN_FLIGHT_CONSTRAINT in str(error):
                raise TrainingError(_in_flight_message(_runs_in_flight(shop=shop, families=ordered))) from error
            # Or it took the next number of a family as its run ended: the next attempt reads the number after it.
            attempts_left -= 1
            if NUMBER_CONSTRAINT not in str(error) or not attempts_left:
                raise


def _next_number(*, shop: Shop, family: str) -> int:
    latest = ModelVersion.objects.filter(shop=shop, family=family).aggregate(latest=Max("number"))["latest"]
    return (latest or 0) + 1


def _runs_in_flight(*, shop: Shop, families: list[str]) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(shop=shop, family__in=families, status__in=ModelVersion.IN_FLIGHT).order_by("pk"))


def _in_flight_message(versions: list[ModelVersion]) -> str:
    return " ".join(
        f"{version.get_family_display()} is already {version.status} (v{version.number}); train it again once that run ends."
        for version in versions
    )


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


def _configured_time_limit(device: str) -> float | None:
    """The training bound of the sequential model and the encoder fine-tune on this device, from settings (None: no bound)."""
    return settings.VITRINE_GPU_TRAIN_TIME_LIMIT_S if device.startswith("cuda") else settings.VITRINE_CPU_TRAIN_TIME_LIMIT_S


def _finish(version: ModelVersion, *, was: str, **fields) -> bool:
    """End the version if it is still `was`; False when something else ended it first (the reaper)."""
    fields["finished_at"] = timezone.now()
    if not ModelVersion.objects.filter(pk=version.pk, status=was).update(**fields):
        version.refresh_from_db()
        return False
    for name, value in fields.items():
        setattr(version, name, value)
    return True


def seconds_left(
    *, elapsed_s: float, overall: float, phase_elapsed_s: float, phase_fraction: float, phase_share: float, later_share: float
) -> float | None:
    """How long a run should still take: the rest of its phase at the phase's own pace, the phases after it
    at the pace of the whole run so far. None while too little has happened to tell."""
    if elapsed_s < ESTIMATE_AFTER_S or overall < ESTIMATE_AFTER_FRACTION:
        return None
    run_pace_s = elapsed_s / overall  # seconds per whole bar
    if phase_elapsed_s >= ESTIMATE_AFTER_S and phase_fraction >= ESTIMATE_AFTER_FRACTION:
        phase_left_s = phase_elapsed_s * (1 - phase_fraction) / phase_fraction
    else:
        phase_left_s = run_pace_s * phase_share * (1 - phase_fraction)
    return phase_left_s + run_pace_s * later_share


class RunProgress:
    """Where a running version is: its phase, how far through it, and when it should end, on its row.

    Each phase is a fixed share of the bar; `enter` starts the next one and returns its reporter,
    called with (fraction of the phase done, what it is doing).
    """

    def __init__(self, version: ModelVersion, echo: Progress) -> None:
        self.version, self.echo = version, echo
        self.shares = TEXT_PHASE_SHARES if version.family in TEXT_FAMILIES else PHASE_SHARES
        self.started = time.monotonic()
        self.phase, self.phase_started, self.written = "", self.started, -PROGRESS_EVERY_S

    def enter(self, phase: str) -> Progress:
        self.phase, self.phase_started = phase, time.monotonic()
        self.report(0.0, "")
        return self.report

    def report(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        phases = list(self.shares)
        position = phases.index(self.phase)
        overall = sum(self.shares[phase] for phase in phases[:position]) + self.shares[self.phase] * fraction
        label = ModelVersion.Phase(self.phase).label
        self.echo(overall, f"{label.lower()}: {message}" if message else label.lower())
        now = time.monotonic()
        # A new phase and a phase's end are always written; the steps between, once a second at most.
        if now - self.written < PROGRESS_EVERY_S and 0.0 < fraction < 1.0:
            return
        self.written = now
        left_s = seconds_left(
            elapsed_s=now - self.started, overall=overall, phase_elapsed_s=now - self.phase_started, phase_fraction=fraction,
            phase_share=self.shares[self.phase], later_share=sum(self.shares[phase] for phase in phases[position + 1 :]),
        )
        wall = timezone.now()
        ModelVersion.objects.filter(pk=self.version.pk, status=ModelVersion.Status.RUNNING).update(
            progress=overall, progress_phase=self.phase, progress_message=message[:300], heartbeat_at=wall,
            progress_done_at=None if left_s is None else wall + timedelta(seconds=left_s),
        )


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


def _budget(version: ModelVersion, device: str):
    from recommender.ml.trainer import Budget

    limit = version.time_limit_s or _configured_time_limit(device)
    bounded = version.family in TIME_BOUNDED_FAMILIES
    note = ""
    if bounded and limit and not device.startswith("cuda"):
        note = f"Bounded CPU run: at most {limit:.0f} s of training; a GPU worker or the scheduled retraining trains fully."
    return Budget(device=device, time_limit_s=limit if bounded else None, note=note)


def _train(version: ModelVersion, device: str, progress: RunProgress) -> dict:
    from recommender.ml.registry import artifact_dir, save_arrays
    from recommender.ml.trainer import evaluate, evaluate_new_shoppers, fit_family, prepare, save_model

    shop = version.shop
    progress.enter(Phase.LOADING)
    arrays = shop_arrays_load(shop=shop)
    interactions = arrays.data.interactions
    if len(interactions.item_ids) == 0:
        raise TrainingError("The shop has no events on items yet: send events to POST /api/v1/events, or import a dataset.")
    budget = _budget(version, device)
    if budget.note:
        logger.warning("Shop %s, %s #%s: %s", shop.slug, version.family, version.pk, budget.note)
    ModelVersion.objects.filter(pk=version.pk).update(budget_note=budget.note)
    step = progress.enter(Phase.BUILDING)
    prepared = prepare(arrays.data)
    embeddings, inputs = None, {}
    if version.family in TEXT_FAMILIES:
        # Which encoder's item vectors it learns from: a version on another encoder's is not comparable to it.
        inputs["encoder"] = serving_encoder(shop=shop).key
        embeddings = item_embeddings_refresh(
            shop=shop, item_pks=arrays.item_pks, texts=arrays.data.item_texts, device=device, progress=step
        )
    overrides = {
        Family.POPULARITY: {"half_life_days": settings.VITRINE_POPULARITY_HALF_LIFE_DAYS},
        Family.FINETUNED_TEXT: {"model_path": text_model_path()},
    }.get(version.family, {})
    fitted = fit_family(
        version.family, prepared, budget, text_embeddings=embeddings, progress=progress.enter(Phase.TRAINING), **overrides
    )
    step = progress.enter(Phase.EVALUATING)
    # Each shopper is ranked three times: known by all their events, then by their last one or two.
    sampled = settings.VITRINE_EVAL_MAX_SHOPPERS
    metrics = {
        **evaluate(
            version.family, fitted.model, prepared, text_embeddings=embeddings,
            progress=lambda fraction, message: step(fraction / 3, message), max_shoppers=sampled,
        ).as_dict(),
        "new_shoppers": evaluate_new_shoppers(
            version.family, fitted.model, prepared, text_embeddings=embeddings,
            progress=lambda fraction, message: step((1 + 2 * fraction) / 3, message), max_shoppers=sampled,
        ),
        **fitted.metrics,
    }
    progress.enter(Phase.SAVING)
    directory = artifact_dir(settings.VITRINE_ARTIFACTS_DIR, shop.slug, version.family, version.pk)
    save_model(version.family, fitted.model, directory / "model")
    save_arrays(directory / "index", {}, {"item_pks": arrays.item_pks, "shopper_pks": arrays.shopper_pks})
    if version.family == Family.FINETUNED_TEXT:
        hashes = np.asarray([text_hash(text) for text in arrays.data.item_texts])
        save_arrays(directory / VECTORS_FOLDER, {}, {"vectors": fitted.model.tuned, "text_hashes": hashes})
    return {
        "hyperparameters": {**fitted.hyperparameters, **inputs},
        "history": fitted.history,
        "metrics": metrics,
        "artifact_path": str(directory),
        "budget_note": budget.note,
        "counts": {"shoppers": interactions.n_users, "items": interactions.n_items, "events": int(len(interactions.item_ids))},
        "data_window": {"from": arrays.first_event_at, "to": arrays.last_event_at},
    }


def model_version_train(*, version: ModelVersion, promote: bool = True, echo=None) -> ModelVersion:
    """Train, evaluate and store one version; on success it serves (when `promote`), on failure nothing changes.

    A version that does not beat the serving one by VITRINE_PROMOTION_MARGIN is stored but waits for a person
    (`held_back` says why). `echo(fraction, message)` sees every progress report, e.g. to draw a progress bar. Only a queued version
    trains, claimed by one atomic update: a redelivered task, or a second process, finds it taken and leaves it.
    """
    from recommender.ml.device import pick_device

    training_runs_reap_stale(shop=version.shop)
    device = pick_device(settings.VITRINE_TRAIN_DEVICE or None)
    started = time.perf_counter()
    now = timezone.now()
    claimed = ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.QUEUED).update(
        status=ModelVersion.Status.RUNNING, started_at=now, heartbeat_at=now, device=device
    )
    if not claimed:
        version.refresh_from_db()
        logger.warning("Shop %s: %s #%s is %s, not queued: not trained", version.shop.slug, version.family, version.pk, version.status)
        return version
    version.status, version.started_at, version.heartbeat_at, version.device = ModelVersion.Status.RUNNING, now, now, device
    _use_all_cores()
    progress = RunProgress(version, echo or (lambda fraction, message: None))
    running = ModelVersion.Status.RUNNING
    try:
        with _heartbeat(version):
            outcome = _train(version, device, progress)
            progress.enter(Phase.PUBLISHING)
    except Exception as error:
        logger.exception("Shop %s: training %s #%s failed", version.shop.slug, version.family, version.pk)
        message = str(error) if isinstance(error, TrainingError) else f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}"
        _finish(version, was=running, status=ModelVersion.Status.FAILED, error=message, wall_seconds=time.perf_counter() - started)
        return version
    except BaseException:
        # Interrupted (Ctrl-C, the process told to exit): the run ends now rather than when its lease runs out.
        _finish(version, was=running, status=ModelVersion.Status.FAILED, error="The training process was interrupted.")
        raise
    finished = _finish(
        version, was=running, status=ModelVersion.Status.SUCCEEDED, progress=1.0, progress_message="done", progress_phase="",
        progress_done_at=None, wall_seconds=time.perf_counter() - started, **outcome,
    )
    if not finished:
        logger.warning("Shop %s: %s #%s was failed while it trained: %s", version.shop.slug, version.family, version.pk, version.error)
        return version
    logger.info("Shop %s: %s #%s trained in %.0f s: %s", version.shop.slug, version.family, version.pk, version.wall_seconds, outcome["metrics"])
    held_back = encoder_held_back(version=version) or promotion_held_back(version=version)
    if held_back:
        logger.warning("Shop %s: %s (#%s) waits for a person: %s", version.shop.slug, version.label, version.pk, held_back)
        version.progress_message, version.held_back = f"done; not serving: {held_back}"[:300], held_back[:300]
        ModelVersion.objects.filter(pk=version.pk).update(progress_message=version.progress_message, held_back=version.held_back)
    elif promote:
        serving = active_version(shop=version.shop, family=version.family)
        version_promote(version=version)
        version_promoted.send(sender=ModelVersion, version=version, serving_before=serving, actor=None)
    return version


def encoder_held_back(*, version: ModelVersion) -> str:
    """Why a fine-tuned encoder must not serve on its own: it ranks held-out items below the frozen one.

    A short CPU run can leave the encoder worse than MiniLM; serving it would degrade the text and
    sequential families. Promoted by hand, it serves all the same.
    """
    if version.family != Family.FINETUNED_TEXT:
        return ""
    cold = version.metrics["cold_start"]
    tuned, frozen = cold["fine_tuned"]["ndcg_10"], cold["frozen"]["ndcg_10"]
    if tuned is None or frozen is None or tuned >= frozen:
        return ""
    return f"ranks held-out items below the frozen encoder (cold-start NDCG@10 {tuned:.4f} < {frozen:.4f}); promote it by hand to serve it"


def _use_all_cores() -> None:
    # Serving pins torch to one thread for latency; a training run in the same process wants every core.
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
