"""Running one version's training: claim it, load the shop's data, fit, evaluate and save it, then promote it
or hold it back for a person."""

import logging
import os
import time
import traceback

import numpy as np
from django.conf import settings
from django.utils import timezone

from ...models import Family, ModelVersion
from ...selectors import active_version, shop_arrays_load
from ...signals import version_promoted
from ..embeddings import VECTORS_FOLDER, item_embeddings_refresh, serving_encoder, text_hash, text_model_path
from ..registry import promotion_held_back, version_promote
from .errors import TrainingError
from .families import TEXT_FAMILIES, TIME_BOUNDED_FAMILIES
from .gate import encoder_held_back
from .lease import _finish, _heartbeat, training_runs_reap_stale
from .progress import Phase, RunProgress

logger = logging.getLogger(__name__)


def _configured_time_limit(device: str) -> float | None:
    """The training bound of the sequential model and the encoder fine-tune on this device, from settings (None: no bound)."""
    return settings.VITRINE_GPU_TRAIN_TIME_LIMIT_S if device.startswith("cuda") else settings.VITRINE_CPU_TRAIN_TIME_LIMIT_S


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
    encoder = serving_encoder(shop=shop)
    # The text families learn from the serving encoder's item vectors; the encoder's own tuning starts from
    # the base encoder's, which are the stored ones while no tuned encoder serves (else it embeds anew).
    if version.family in TEXT_FAMILIES or (version.family == Family.FINETUNED_TEXT and encoder.version is None):
        # Which encoder's item vectors it learns from: a version on another encoder's is not comparable to it.
        inputs["encoder"] = encoder.key
        embeddings = item_embeddings_refresh(
            shop=shop, item_pks=arrays.item_pks, texts=arrays.data.item_texts, device=device, progress=step
        )
    overrides = {
        Family.POPULARITY: {"half_life_days": settings.VITRINE_POPULARITY_HALF_LIFE_DAYS},
        Family.FINETUNED_TEXT: {"model_path": text_model_path(), "mode": settings.VITRINE_FINETUNE_MODE or None},
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


def _use_all_cores() -> None:
    # Serving pins torch to one thread for latency; a training run in the same process wants every core.
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
