import logging
import os
import time
import traceback
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Shop

from ..models import Family, ModelVersion
from ..selectors import FAMILY_ORDER, shop_arrays_load
from .embeddings import VECTORS_FOLDER, item_embeddings_refresh, text_hash, text_model_path
from .registry import version_promote

logger = logging.getLogger(__name__)
# The families that read the serving encoder's item vectors, in training order.
TEXT_FAMILIES = [Family.TEXT, Family.SEQUENTIAL]
# What the nightly schedule and a new shop train. The encoder fine-tune is asked for by name (the console,
# `train --family finetuned_text`, `evaluate`): within a CPU's time limit it does not yet beat MiniLM.
SCHEDULED_FAMILIES = [family for family in Family.values if family != Family.FINETUNED_TEXT]
# The families whose training is bounded by the device's time limit.
TIME_BOUNDED_FAMILIES = {Family.SEQUENTIAL, Family.FINETUNED_TEXT}
PROGRESS_EVERY_S = 1.0
# The hard limit of a training task; a run with no time limit of its own is judged stale against it.
TRAIN_TIME_LIMIT_S = 6 * 3600
# A run still "running" this long past its time limit has lost its process (killed, or the machine went away).
STALE_AFTER = timedelta(minutes=30)


class TrainingError(Exception):
    pass


def training_versions_create(*, shop: Shop, families: list[str], time_limit_s: float | None = None) -> list[ModelVersion]:
    unknown = set(families) - set(Family.values)
    if unknown:
        raise TrainingError(f"Unknown model family {', '.join(sorted(unknown))}; expected {', '.join(Family.values)}.")
    ordered = [family for family in FAMILY_ORDER if family in families]
    return [ModelVersion.objects.create(shop=shop, family=family, time_limit_s=time_limit_s) for family in ordered]


def training_dispatch(*, shop: Shop, families: list[str] | None = None, time_limit_s: float | None = None) -> list[ModelVersion]:
    """Queue a training run per family (default: SCHEDULED_FAMILIES), one after another on the train queue
    (the encoder before the text and sequential models)."""
    from celery import chain

    from ..tasks import train_model_version_task

    versions = training_versions_create(shop=shop, families=families or SCHEDULED_FAMILIES, time_limit_s=time_limit_s)
    signatures = [train_model_version_task.si(version.pk) for version in versions]
    transaction.on_commit(lambda: chain(*signatures).delay())
    return versions


def encoder_dependents_dispatch(*, shop: Shop) -> list[ModelVersion]:
    """Retrain the families that read the serving encoder's vectors, after the encoder changed.

    A family with a run already queued is left out: that run reads the new encoder's vectors when it starts.
    """
    queued = set(ModelVersion.objects.filter(shop=shop, status=ModelVersion.Status.QUEUED).values_list("family", flat=True))
    families = [family for family in TEXT_FAMILIES if family not in queued]
    return training_dispatch(shop=shop, families=families) if families else []


def training_runs_reap_stale(*, shop: Shop | None = None) -> int:
    """Mark runs whose process died as failed; the version serving before them keeps serving."""
    now = timezone.now()
    running = ModelVersion.objects.filter(status=ModelVersion.Status.RUNNING)
    if shop is not None:
        running = running.filter(shop=shop)
    reaped = 0
    for version in running:
        limit = timedelta(seconds=version.time_limit_s or _configured_time_limit(version.device) or TRAIN_TIME_LIMIT_S) + STALE_AFTER
        if version.started_at and now - version.started_at > limit:
            _finish(version, status=ModelVersion.Status.FAILED, error="The training process stopped before finishing (killed or crashed).")
            reaped += 1
    return reaped


def _configured_time_limit(device: str) -> float | None:
    """The training bound of the sequential model and the encoder fine-tune on this device, from settings (None: no bound)."""
    return settings.VITRINE_GPU_TRAIN_TIME_LIMIT_S if device.startswith("cuda") else settings.VITRINE_CPU_TRAIN_TIME_LIMIT_S


def _finish(version: ModelVersion, **fields) -> None:
    fields["finished_at"] = timezone.now()
    ModelVersion.objects.filter(pk=version.pk).update(**fields)
    for name, value in fields.items():
        setattr(version, name, value)


def _progress_reporter(version: ModelVersion, echo):
    last = [0.0]

    def report(fraction: float, message: str) -> None:
        echo(fraction, message)
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or fraction >= 1.0:
            last[0] = now
            ModelVersion.objects.filter(pk=version.pk).update(progress=min(max(fraction, 0.0), 1.0), progress_message=message[:300])

    return report


def _budget(version: ModelVersion, device: str):
    from recommender.ml.trainer import Budget

    limit = version.time_limit_s or _configured_time_limit(device)
    bounded = version.family in TIME_BOUNDED_FAMILIES
    note = ""
    if bounded and limit and not device.startswith("cuda"):
        note = f"Bounded CPU run: at most {limit:.0f} s of training; a GPU worker or the scheduled retraining trains fully."
    return Budget(device=device, time_limit_s=limit if bounded else None, note=note)


def _train(version: ModelVersion, device: str, report) -> dict:
    from recommender.ml.registry import artifact_dir, save_arrays
    from recommender.ml.trainer import evaluate, evaluate_new_shoppers, fit_family, prepare, save_model

    shop = version.shop
    arrays = shop_arrays_load(shop=shop)
    interactions = arrays.data.interactions
    if len(interactions.item_ids) == 0:
        raise TrainingError("The shop has no events on items yet: send events to POST /api/v1/events, or import a dataset.")
    budget = _budget(version, device)
    if budget.note:
        logger.warning("Shop %s, %s #%s: %s", shop.slug, version.family, version.pk, budget.note)
    ModelVersion.objects.filter(pk=version.pk).update(budget_note=budget.note)
    prepared = prepare(arrays.data)
    embeddings = None
    if version.family in TEXT_FAMILIES:
        embeddings = item_embeddings_refresh(
            shop=shop, item_pks=arrays.item_pks, texts=arrays.data.item_texts, device=device,
            progress=lambda fraction, message: report(0.3 * fraction, message),
        )
    overrides = {
        Family.POPULARITY: {"half_life_days": settings.VITRINE_POPULARITY_HALF_LIFE_DAYS},
        Family.FINETUNED_TEXT: {"model_path": text_model_path()},
    }.get(version.family, {})
    fitted = fit_family(
        version.family, prepared, budget, text_embeddings=embeddings,
        progress=lambda fraction, message: report(0.3 + 0.6 * fraction, message), **overrides,
    )
    report(0.92, "evaluating on the held-out last events")
    metrics = {
        **evaluate(version.family, fitted.model, prepared, text_embeddings=embeddings).as_dict(),
        "new_shoppers": evaluate_new_shoppers(version.family, fitted.model, prepared, text_embeddings=embeddings),
        **fitted.metrics,
    }
    directory = artifact_dir(settings.VITRINE_ARTIFACTS_DIR, shop.slug, version.family, version.pk)
    save_model(version.family, fitted.model, directory / "model")
    save_arrays(directory / "index", {}, {"item_pks": arrays.item_pks, "shopper_pks": arrays.shopper_pks})
    if version.family == Family.FINETUNED_TEXT:
        hashes = np.asarray([text_hash(text) for text in arrays.data.item_texts])
        save_arrays(directory / VECTORS_FOLDER, {}, {"vectors": fitted.model.tuned, "text_hashes": hashes})
    return {
        "hyperparameters": fitted.hyperparameters,
        "history": fitted.history,
        "metrics": metrics,
        "artifact_path": str(directory),
        "budget_note": budget.note,
        "counts": {"shoppers": interactions.n_users, "items": interactions.n_items, "events": int(len(interactions.item_ids))},
        "data_window": {"from": arrays.first_event_at, "to": arrays.last_event_at},
    }


def model_version_train(*, version: ModelVersion, promote: bool = True, echo=None) -> ModelVersion:
    """Train, evaluate and store one version; on success it serves (when `promote`), on failure nothing changes.

    `echo(fraction, message)` sees every progress report, e.g. to draw a progress bar.
    """
    from recommender.ml.device import pick_device

    training_runs_reap_stale(shop=version.shop)
    device = pick_device(settings.VITRINE_TRAIN_DEVICE or None)
    started = time.perf_counter()
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.RUNNING, started_at=timezone.now(), device=device)
    version.device = device
    _use_all_cores()
    report = _progress_reporter(version, echo or (lambda fraction, message: None))
    try:
        outcome = _train(version, device, report)
    except Exception as error:
        logger.exception("Shop %s: training %s #%s failed", version.shop.slug, version.family, version.pk)
        message = str(error) if isinstance(error, TrainingError) else f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}"
        _finish(version, status=ModelVersion.Status.FAILED, error=message, wall_seconds=time.perf_counter() - started)
        return version
    _finish(
        version, status=ModelVersion.Status.SUCCEEDED, progress=1.0, progress_message="done",
        wall_seconds=time.perf_counter() - started, **outcome,
    )
    logger.info("Shop %s: %s #%s trained in %.0f s: %s", version.shop.slug, version.family, version.pk, version.wall_seconds, outcome["metrics"])
    held_back = encoder_held_back(version=version)
    if held_back:
        logger.warning("Shop %s: %s #%s does not serve: %s", version.shop.slug, version.family, version.pk, held_back)
        version.progress_message = f"done; not serving: {held_back}"[:300]
        ModelVersion.objects.filter(pk=version.pk).update(progress_message=version.progress_message)
    elif promote:
        version_promote(version=version)
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
