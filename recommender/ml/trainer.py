"""Fit, evaluate, save and load every model family on arrays; the Celery task and the benchmark share it.

Each run splits each shopper's sequence leave-last-out: the model is fitted on all but the last
two events, early-stopped on the second to last and evaluated on the last, ranking the whole
catalog. The evaluated model is the one that serves: at serving time it reads the shopper's
full, current sequence.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.ml.data import Interactions, LeaveLastOutSplit, leave_last_out, sequences_to_matrix
from recommender.ml.evaluation import RankingReport, evaluate_scores
from recommender.ml.registry import load_arrays, save_arrays

POPULARITY, MF, TEXT, SEQUENTIAL = "popularity", "mf", "text", "sequential"
FAMILIES = (POPULARITY, MF, TEXT, SEQUENTIAL)
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


def embed_items(texts: list[str], model_path: str | None, device: str, progress: Progress = _quiet) -> np.ndarray:
    from recommender.ml.nets.text_encoder import TextEncoder

    encoder = TextEncoder(model_path=model_path, device=device)
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
    return FitResult(model, {"recent": model.recent, "decay": model.decay, "dim": int(text_embeddings.shape[1])})


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
        if config.time_limit_s:
            fraction = max(fraction, min(report["elapsed_s"] / config.time_limit_s, 1.0))
        progress(fraction, f"epoch {report['epoch']}: loss {report['loss']:.3f}, valid NDCG@10 {report['valid_ndcg10'] or 0:.4f}")

    history = model.fit(
        split.train, split.train_types, split.valid_history, split.valid_history_types, split.valid_targets, progress=epoch_done
    )
    hyperparameters = {key: value for key, value in vars(config).items() if key != "n_items"}
    return FitResult(model, hyperparameters, history)


_FITTERS = {POPULARITY: _fit_popularity, MF: _fit_mf, TEXT: _fit_text, SEQUENTIAL: _fit_sequential}


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
        family: one of FAMILIES.
        prepared: the shop's data and its split.
        budget: device and bounds.
        text_embeddings: (n_items, d) item text embeddings; needed by "text", optional for "sequential".
        progress: called with (fraction done, message).
        **hyperparameters: overrides of the family's defaults.

    Returns:
        The fitted model, its hyper-parameters and training history.
    """
    if family not in _FITTERS:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    if family == TEXT and text_embeddings is None:
        raise ValueError("the text family needs item text embeddings")
    started = time.perf_counter()
    result = _FITTERS[family](prepared, budget, text_embeddings=text_embeddings, progress=progress, **hyperparameters)
    result.seconds = time.perf_counter() - started
    return result


def evaluate(family: str, model, prepared: Prepared, text_embeddings: np.ndarray | None = None) -> RankingReport:
    """Full-catalog leave-last-out metrics of a fitted model on the test targets."""
    split = prepared.split
    types = split.test_history_types

    def scores(user_indices: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        if family == SEQUENTIAL:  # the sequential model reads the event types too
            return model.score(histories, [types[user] for user in user_indices])
        return model.score_users(user_indices, histories)

    popularity = np.bincount(prepared.train.item_ids, minlength=prepared.n_items)
    return evaluate_scores(
        scores,
        split.test_history,
        split.test_targets,
        prepared.n_items,
        item_embeddings=text_embeddings,
        item_categories=prepared.data.item_categories,
        item_popularity=popularity,
    )


def save_model(family: str, model, directory: Path) -> None:
    if family == SEQUENTIAL:
        model.save(directory)
        return
    config, arrays = model.to_state()
    save_arrays(directory, config, arrays)


def load_model(family: str, directory: Path, device: str = "cpu"):
    if family == SEQUENTIAL:
        from recommender.ml.nets.sasrec import SASRecModel

        return SASRecModel.load(directory, device=device)
    classes = _model_classes()
    config, arrays = load_arrays(directory)
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
