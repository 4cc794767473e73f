"""Fit, evaluate, save and load every model family on arrays; the Celery task and the benchmark share it.

Each run splits each shopper's sequence leave-last-out: the model is fitted on all but the last
two events, early-stopped on the second to last and evaluated on the last, ranking the whole
catalog. The evaluated model is the one that serves: at serving time it reads the shopper's
full, current sequence.
"""

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.ml.data import Interactions, LeaveLastOutSplit, leave_last_out, sequences_to_matrix
from recommender.ml.evaluation import RankingReport, evaluate_scores
from recommender.ml.registry import load_arrays, save_arrays

POPULARITY, MF, TEXT, SEQUENTIAL = "popularity", "mf", "text", "sequential"
# The families that score shoppers. FINETUNED_TEXT scores nobody: it is the text encoder, fine-tuned on
# the shop's co-engagement, whose item vectors the text and sequential families then read.
FAMILIES = (POPULARITY, MF, TEXT, SEQUENTIAL)
FINETUNED_TEXT = "finetuned_text"
COLD_ITEM_FRACTION = 0.1
# Shoppers known by this many events (their last ones before the test target) in the new-shopper evaluation.
NEW_SHOPPER_EVENTS = (1, 2)
# The order of event types is the code the sequential model embeds; new types go at the end.
EVENT_TYPES = ("impression", "view", "click", "add_to_cart", "purchase", "search", "rating", "dislike")
EVENT_TYPE_CODES = {name: code for code, name in enumerate(EVENT_TYPES)}

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ShopData:
    """Everything a shop's models learn from, as arrays.

    Attributes:
        interactions: events with a positive weight, items and users as indices.
        item_texts: per item index, the text the encoder embeds.
        item_categories: per item index, a category code (-1 for none).
    """

    interactions: Interactions
    item_texts: list[str]
    item_categories: np.ndarray


@dataclass(frozen=True)
class Prepared:
    data: ShopData
    split: LeaveLastOutSplit
    train: Interactions

    @property
    def n_items(self) -> int:
        return self.data.interactions.n_items


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


def _quiet(fraction: float, message: str) -> None:
    return None


def _training_rows(interactions: Interactions) -> np.ndarray:
    """Row indices of every event but each user's last two (the validation and test targets)."""
    order = np.lexsort((np.arange(len(interactions.user_ids)), interactions.timestamps, interactions.user_ids))
    users = interactions.user_ids[order]
    counts = np.bincount(users, minlength=interactions.n_users)
    position = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    held_out = (counts[users] >= 3) & (position >= counts[users] - 2)
    return np.sort(order[~held_out])


def prepare(data: ShopData) -> Prepared:
    interactions = data.interactions
    rows = _training_rows(interactions)
    train = Interactions(
        user_ids=interactions.user_ids[rows],
        item_ids=interactions.item_ids[rows],
        weights=interactions.weights[rows],
        timestamps=interactions.timestamps[rows],
        event_types=interactions.event_types[rows],
        n_users=interactions.n_users,
        n_items=interactions.n_items,
    )
    split = leave_last_out(interactions.sequences(), interactions.type_sequences())
    return Prepared(data=data, split=split, train=train)


@functools.lru_cache(maxsize=2)
def _encoder_loaded(model_path: str | None, device: str, fine_tuned: Path | None):
    # Kept loaded: a worker embedding the upserts of a busy catalog encodes a batch every few seconds.
    from recommender.ml.nets.text_encoder import TextEncoder

    if fine_tuned is not None:
        from recommender.ml.nets.text_finetune import load_fine_tuned

        return load_fine_tuned(fine_tuned, device=device)
    return TextEncoder(model_path=model_path, device=device)


def embed_items(
    texts: list[str], model_path: str | None, device: str, progress: Progress = _quiet, fine_tuned: Path | None = None
) -> np.ndarray:
    """Embeds texts with the base model at `model_path`, or with the fine-tuned encoder saved in `fine_tuned`."""
    encoder = _encoder_loaded(model_path, device, fine_tuned)
    return encoder.encode(texts, progress=lambda done, total: progress(done / max(total, 1), f"embedded {done}/{total} items"))


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
    prepared: Prepared, budget: Budget, text_embeddings: np.ndarray | None = None, progress: Progress = _quiet, **overrides
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
    progress: Progress = _quiet,
    text_embeddings: np.ndarray | None = None,  # not read: the encoder embeds the items itself
    model_path: str | None = None,
    window: int = 3,
    max_pairs: int | None = None,
    cold_fraction: float = COLD_ITEM_FRACTION,
    seed: int = 0,
    **overrides,
) -> FitResult:
    """Fine-tunes the encoder on pairs co-engaged in the training sequences, a share of the catalog held out.

    The held-out (cold) items lose every event, so their texts are all the
    encoder knows of them; the cold-start metrics rank them as next items for
    the shoppers whose last event is one of them, by frozen and fine-tuned
    embeddings and by popularity.
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
    tuned = fine_tune_and_embed(prepared.data.item_texts, pairs, config, device=budget.device, model_path=model_path, progress=progress)
    report = cold_start_report(cold, sequences, n_items, {"frozen": tuned.frozen, "fine_tuned": tuned.tuned})
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
    progress: Progress = _quiet,
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


def evaluate(
    family: str,
    model,
    prepared: Prepared,
    text_embeddings: np.ndarray | None = None,
    history_length: int | None = None,
    progress: Progress = _quiet,
    max_shoppers: int | None = None,
) -> RankingReport:
    """Full-catalog leave-last-out metrics of a fitted model on the test targets.

    Args:
        family: the model's family.
        model: a fitted model of that family; the fine-tuned encoder is ranked by text similarity.
        prepared: the shop's data and its split.
        text_embeddings: item vectors for the diversity metric.
        history_length: when given, every shopper is known only by this many
            events, their last ones before the target, as a new shopper would
            be; shoppers with fewer are left out.
        progress: called with (fraction of the shoppers ranked, message) after each batch.

    Returns:
        The report.
    """
    from recommender.ml.nets.text_similarity import TextSimilarityModel

    split = prepared.split
    histories, targets = split.test_history, split.test_targets
    if history_length is not None:
        histories = [history[-history_length:] for history in histories]
        targets = np.where([len(history) >= history_length for history in split.test_history], targets, -1)
    targets = _shoppers_sampled(np.asarray(targets), max_shoppers)
    if family == FINETUNED_TEXT:
        text_embeddings = model.tuned
        model = TextSimilarityModel(model.tuned)
    types = split.test_history_types
    total, ranked = int(np.count_nonzero(np.asarray(targets) >= 0)), [0]

    def scores(user_indices: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        if family == SEQUENTIAL:  # the sequential model reads the event types too, the last ones of each history
            batch = model.score(histories, [types[user][len(types[user]) - len(history) :] for user, history in zip(user_indices, histories)])
        else:
            batch = model.score_users(user_indices, histories)
        ranked[0] += len(user_indices)
        progress(ranked[0] / max(total, 1), f"ranked the catalog for {ranked[0]:,} of {total:,} shoppers")
        return batch

    popularity = np.bincount(prepared.train.item_ids, minlength=prepared.n_items)
    return evaluate_scores(
        scores,
        histories,
        targets,
        prepared.n_items,
        item_embeddings=text_embeddings,
        item_categories=prepared.data.item_categories,
        item_popularity=popularity,
    )


def _shoppers_sampled(targets: np.ndarray, max_shoppers: int | None) -> np.ndarray:
    """`targets` with all but `max_shoppers` of the shoppers left out (-1), the same ones every time: ranking the
    whole catalog for every shopper costs shoppers × items, hours for a large shop."""
    valid = np.flatnonzero(targets >= 0)
    if max_shoppers is None or len(valid) <= max_shoppers:
        return targets
    kept = np.random.default_rng(0).choice(valid, max_shoppers, replace=False)
    sampled = np.full_like(targets, -1)
    sampled[kept] = targets[kept]
    return sampled


def evaluate_new_shoppers(
    family: str, model, prepared: Prepared, text_embeddings: np.ndarray | None = None, progress: Progress = _quiet,
    max_shoppers: int | None = None,
) -> dict:
    """HR@10 and NDCG@10 when each shopper is known by only their last one or two events.

    Args:
        progress: called with (fraction done, message); each history length is an equal share.

    Returns:
        {"1_event": {"hr_10", "ndcg_10", "n_users"}, "2_events": {...}}.
    """
    reports = {}
    share = 1 / len(NEW_SHOPPER_EVENTS)
    for done, length in enumerate(NEW_SHOPPER_EVENTS):

        def step(fraction: float, message: str, done: int = done, length: int = length) -> None:
            progress(share * (done + fraction), f"as new shoppers known by {length} event{'s' if length > 1 else ''}: {message}")

        report = evaluate(
            family, model, prepared, text_embeddings, history_length=length, progress=step, max_shoppers=max_shoppers
        ).as_dict()
        reports[f"{length}_event{'s' if length > 1 else ''}"] = {key: report[key] for key in ("hr_10", "ndcg_10", "n_users")}
    return reports


def save_model(family: str, model, directory: Path) -> None:
    if family == FINETUNED_TEXT:
        from recommender.ml.nets.text_finetune import save_adapter

        save_adapter(model.encoder, directory, model.config)
        return
    if family == SEQUENTIAL:
        model.save(directory)
        return
    config, arrays = model.to_state()
    save_arrays(directory, config, arrays)


def load_model(family: str, directory: Path, device: str = "cpu"):
    """The family's model, for serving; for FINETUNED_TEXT, the fine-tuned TextEncoder.

    Array models are read-only: their arrays are mapped from the artifact, one copy for every process serving it.
    """
    if family == FINETUNED_TEXT:
        from recommender.ml.nets.text_finetune import load_fine_tuned

        return load_fine_tuned(directory, device=device)
    if family == SEQUENTIAL:
        from recommender.ml.nets.sasrec import SASRecModel

        return SASRecModel.load(directory, device=device)
    classes = _model_classes()
    config, arrays = load_arrays(directory, mapped=True)
    return classes[family].from_state(config, arrays)


def _model_classes() -> dict:
    from recommender.ml.nets.mf import ALSModel
    from recommender.ml.nets.popularity import PopularityModel
    from recommender.ml.nets.text_similarity import TextSimilarityModel

    return {POPULARITY: PopularityModel, MF: ALSModel, TEXT: TextSimilarityModel}


def score_history(family: str, model, items: np.ndarray, types: np.ndarray) -> np.ndarray:
    """(n_items,) scores for one shopper's current sequence, read online: a fresh event counts at once.

    Args:
        family: the model's family.
        model: a fitted model of that family.
        items: item indices of the shopper's events, oldest first.
        types: event type codes aligned with `items`.

    Returns:
        One score per catalog item.
    """
    if family == SEQUENTIAL:
        return model.score([items], [types])[0]
    if family == MF:
        if len(items) == 0:
            return np.zeros(model.item_factors.shape[0], dtype=np.float32)
        return (model.fold_in([items]) @ model.item_factors.T)[0]
    if family == POPULARITY:
        return np.asarray(model.score(), dtype=np.float32)
    return model.score_users(np.zeros(1, np.int64), [items])[0]
