"""Fitting one family on the training part of a shop's split, within a budget."""

import json
import time
from dataclasses import dataclass, field

import numpy as np

from recommender.ml.data import sequences_to_matrix
from recommender.ml.trainer.families import FINETUNED_TEXT, MF, POPULARITY, SEQUENTIAL, TEXT
from recommender.ml.trainer.progress import Progress, quiet
from recommender.ml.trainer.shop import EVENT_TYPES, Prepared

COLD_ITEM_FRACTION = 0.1


@dataclass
class Budget:
    """Bounds on one training run: a bounded CPU run says so in `note`."""

    device: str = "cpu"
    time_limit_s: float | None = None
    max_epochs: int | None = None
    note: str = ""


@dataclass
class FitResult:
    model: object
    hyperparameters: dict
    history: dict = field(default_factory=dict)
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)  # what the fit measured on a split of its own (cold start)


def _fit_popularity(prepared: Prepared, budget: Budget, half_life_days: float = 30.0, **_) -> FitResult:
    from recommender.ml.nets.popularity import PopularityModel

    model = PopularityModel(half_life_days=half_life_days).fit(prepared.train, item_categories=prepared.data.item_categories)
    return FitResult(model, {"half_life_days": half_life_days})


def _fit_mf(prepared: Prepared, budget: Budget, factors: int = 64, iterations: int = 15, **_) -> FitResult:
    from recommender.ml.nets.mf import ALSModel

    matrix = sequences_to_matrix(prepared.train.sequences(), prepared.n_items, prepared.train.weight_sequences())
    model = ALSModel(factors=factors, iterations=iterations).fit(matrix)
    return FitResult(model, {"factors": factors, "iterations": iterations, "regularization": model.regularization, "alpha": model.alpha})


def _fit_text(prepared: Prepared, budget: Budget, text_embeddings: np.ndarray | None = None, **_) -> FitResult:
    from recommender.ml.nets.text_similarity import TextSimilarityModel

    model = TextSimilarityModel(text_embeddings)
    params = {"recent": model.recent, "decay": model.decay, "dim": int(text_embeddings.shape[1])}
    return FitResult(model, params)


def clock(seconds: float) -> str:
    """Seconds as minutes and seconds: 130 -> "2:10"."""
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def _fit_sequential(
    prepared: Prepared, budget: Budget, text_embeddings: np.ndarray | None = None, progress: Progress = quiet, **overrides
) -> FitResult:
    from recommender.ml.nets.sasrec import SASRecConfig, SASRecModel

    settings = {"n_items": prepared.n_items, "n_event_types": len(EVENT_TYPES), **overrides}
    if text_embeddings is not None:
        settings["text_dim"] = int(text_embeddings.shape[1])
    if budget.max_epochs is not None:
        settings["max_epochs"] = budget.max_epochs
    if budget.time_limit_s is not None:
        settings["time_limit_s"] = budget.time_limit_s
    config = SASRecConfig(**settings)
    model = SASRecModel(config, text_embeddings=text_embeddings, device=budget.device)
    split = prepared.split

    def epoch_done(report: dict) -> None:
        fraction = min(report["epoch"] / config.max_epochs, 1.0)
        figures = f"loss {report['loss']:.3f}, valid NDCG@10 {report['valid_ndcg10'] or 0:.4f}"
        if config.time_limit_s:
            # Bounded runs end on the clock long before max_epochs: the clock is the honest measure.
            fraction = max(fraction, min(report["elapsed_s"] / config.time_limit_s, 1.0))
            where = f"{clock(report['elapsed_s'])} of {clock(config.time_limit_s)}, epoch {report['epoch']}"
        else:
            where = f"epoch {report['epoch']} of at most {config.max_epochs}"
        progress(fraction, f"{where}: {figures}")

    history = model.fit(
        split.train, split.train_types, split.valid_history, split.valid_history_types, split.valid_targets, progress=epoch_done
    )
    hyperparameters = {key: value for key, value in vars(config).items() if key != "n_items"}
    return FitResult(model, hyperparameters, history)


def _fit_finetuned_text(
    prepared: Prepared,
    budget: Budget,
    progress: Progress = quiet,
    text_embeddings: np.ndarray | None = None,  # the base encoder's vectors, which the adapter mode starts from
    model_path: str | None = None,
    window: int = 3,
    max_pairs: int | None = None,
    cold_fraction: float = COLD_ITEM_FRACTION,
    seed: int = 0,
    **overrides,
) -> FitResult:
    """Fine-tunes the encoder (or, in adapter mode, its vectors) on pairs co-engaged in the training sequences,
    a share of the catalog held out.

    The held-out (cold) items lose every event, so their texts are all the
    encoder knows of them; the cold-start metrics rank them as next items for
    the shoppers whose last event is one of them, by frozen and fine-tuned
    embeddings (and the adapter's whitening alone) and by popularity.
    `text_embeddings`, when given, must be the base encoder's vectors of every item.
    """
    from recommender.ml.coldstart import cold_item_split, cold_start_report, items_removed
    from recommender.ml.nets.text_finetune import co_engaged_pairs, config_for_device, fine_tune_and_embed

    n_items = prepared.n_items
    cold = cold_item_split(prepared.data.interactions.sequences(), n_items, fraction=cold_fraction, seed=seed)
    sequences = items_removed(prepared.split.train, cold.cold_items)
    pairs = co_engaged_pairs(sequences, window=window, max_pairs=max_pairs, seed=seed)
    if len(pairs) == 0:
        raise ValueError("no two items engaged with by the same shopper to fine-tune on")
    config = config_for_device(budget.device, time_limit_s=budget.time_limit_s, epochs=budget.max_epochs, seed=seed, **overrides)
    tuned = fine_tune_and_embed(
        prepared.data.item_texts, pairs, config, device=budget.device, model_path=model_path, progress=progress,
        frozen=text_embeddings,
    )
    report = cold_start_report(cold, sequences, n_items, {"frozen": tuned.frozen, "fine_tuned": tuned.tuned, **tuned.stages})
    hyperparameters = {**json.loads(config.to_json()), "window": window, "max_pairs": max_pairs, "cold_fraction": cold_fraction}
    history = {**tuned.history, "items_per_s": tuned.items_per_s}
    return FitResult(tuned, hyperparameters, history, metrics={"cold_start": report})


_FITTERS = {
    POPULARITY: _fit_popularity,
    MF: _fit_mf,
    TEXT: _fit_text,
    SEQUENTIAL: _fit_sequential,
    FINETUNED_TEXT: _fit_finetuned_text,
}


def fit_family(
    family: str,
    prepared: Prepared,
    budget: Budget,
    text_embeddings: np.ndarray | None = None,
    progress: Progress = quiet,
    **hyperparameters,
) -> FitResult:
    """Fit one family on the training part of `prepared`.

    Args:
        family: one of FAMILIES, or FINETUNED_TEXT.
        prepared: the shop's data and its split.
        budget: device and bounds.
        text_embeddings: (n_items, d) item text embeddings; needed by "text", optional for "sequential".
        progress: called with (fraction done, message).
        **hyperparameters: overrides of the family's defaults.

    Returns:
        The fitted model, its hyper-parameters and training history.
    """
    if family not in _FITTERS:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(_FITTERS)}")
    if family == TEXT and text_embeddings is None:
        raise ValueError("the text family needs item text embeddings")
    started = time.perf_counter()
    result = _FITTERS[family](prepared, budget, text_embeddings=text_embeddings, progress=progress, **hyperparameters)
    result.seconds = time.perf_counter() - started
    return result
