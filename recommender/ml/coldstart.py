"""Cold-start evaluation on arrays: how well brand-new items, never seen in training, are recommended.

Protocol (item cold start, known shoppers):

1. A random share of the catalog (10 % by default) is held out entirely: these
   are the cold items. Every event on a cold item is removed from the
   training sequences, so no model, and no fine-tuning of the text encoder,
   sees a cold item's engagement. Their texts stay known, as a new product's
   title is known on the day it is listed.
2. The evaluation cases are the shoppers whose last event is on a cold item
   and who engaged with at least one warm item before it. The history is
   those warm items, oldest first; the target is the cold item.
3. Each target is ranked against the full catalog, warm and cold items alike,
   with the history removed (as in :mod:`recommender.ml.evaluation`), and
   HR@k and NDCG@k are averaged over the cases.

Popularity counted on the training sequences gives every cold item a zero
score, so it marks the floor that any content model must clear.
"""

from dataclasses import dataclass

import numpy as np

from recommender.ml.evaluation import hit_rate_at_k, ndcg_at_k, target_ranks

CHUNK_CASES = 512


@dataclass(frozen=True)
class ColdCases:
    """Shoppers whose last event is on a cold item.

    Attributes:
        users: (n_cases,) index of each case's sequence in the input sequences.
        histories: per case, the warm items engaged before the target, oldest first.
        targets: (n_cases,) the cold item of each case's last event.
    """

    users: np.ndarray
    histories: list[np.ndarray]
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


@dataclass(frozen=True)
class ColdSplit:
    """The outcome of :func:`cold_item_split`.

    Attributes:
        cold_items: sorted int64 ids of the held-out items.
        train_sequences: per shopper, the sequence with every cold-item event removed.
        cases: the evaluation cases.
    """

    cold_items: np.ndarray
    train_sequences: list[np.ndarray]
    cases: ColdCases


def cold_item_split(sequences: list[np.ndarray], n_items: int, fraction: float = 0.1, seed: int = 0) -> ColdSplit:
    """Holds out a random share of the catalog and builds the cold-start cases (see the module docstring).

    Items are drawn uniformly from the whole catalog, so the cold set has
    the same mix of popular and rare items as new listings would, on average.

    Args:
        sequences: per shopper, item indices oldest first.
        n_items: catalog size.
        fraction: share of the catalog held out, in (0, 1).
        seed: seed of the draw.

    Returns:
        The cold items, the training sequences and the evaluation cases.
    """
    if not 0 < fraction < 1:
        raise ValueError("fraction must be strictly between 0 and 1")
    rng = np.random.default_rng(seed)
    n_cold = max(1, int(round(fraction * n_items)))
    cold_items = np.sort(rng.choice(n_items, size=n_cold, replace=False)).astype(np.int64)
    is_cold = np.zeros(n_items, dtype=bool)
    is_cold[cold_items] = True
    sequences = [np.asarray(sequence, dtype=np.int64) for sequence in sequences]
    train_sequences = items_removed(sequences, cold_items)
    return ColdSplit(cold_items, train_sequences, _cold_cases(sequences, train_sequences, is_cold))


def items_removed(sequences: list[np.ndarray], items: np.ndarray) -> list[np.ndarray]:
    """The sequences without any event on `items`, order kept.

    Args:
        sequences: per shopper, item indices oldest first.
        items: the item indices to drop.

    Returns:
        One int64 array per input sequence.
    """
    items = np.asarray(items, dtype=np.int64)
    return [sequence[~np.isin(sequence, items)] for sequence in (np.asarray(s, dtype=np.int64) for s in sequences)]


def _cold_cases(sequences: list[np.ndarray], warm_sequences: list[np.ndarray], is_cold: np.ndarray) -> ColdCases:
    users, histories, targets = [], [], []
    for user, (sequence, warm) in enumerate(zip(sequences, warm_sequences)):
        if len(sequence) == 0 or not is_cold[sequence[-1]]:
            continue
        # The last event is cold, so the warm events are exactly the ones before it.
        if len(warm) == 0:
            continue
        users.append(user)
        histories.append(warm)
        targets.append(sequence[-1])
    return ColdCases(np.asarray(users, np.int64), histories, np.asarray(targets, np.int64))


def evaluate_cold(item_embeddings: np.ndarray, cases: ColdCases, cold_items: np.ndarray, k: int = 10) -> dict:
    """Ranks each cold target by text similarity to the case's history, against the full catalog.

    The history profile is TextSimilarityModel's recency-weighted mean of the
    history's embeddings; the history's own items are excluded from the ranking.

    Args:
        item_embeddings: (n_items, d) L2-normalised item text embeddings, cold items included.
        cases: the cases of :func:`cold_item_split`.
        cold_items: the held-out items; every target must be one of them.
        k: cutoff of the metrics.

    Returns:
        {"hr_10": ..., "ndcg_10": ..., "n_cases": ...} (the keys name the actual k).
    """
    from recommender.ml.nets.text_similarity import TextSimilarityModel

    _check_targets_cold(cases, cold_items)
    model = TextSimilarityModel(item_embeddings)
    return _ranking_metrics(lambda users, histories: model.score_users(users, histories), cases, k)


def evaluate_cold_popularity(train_sequences: list[np.ndarray], n_items: int, cases: ColdCases, cold_items: np.ndarray, k: int = 10) -> dict:
    """The popularity baseline on the same cases: items ranked by their count in the training sequences.

    Cold items never occur in training, so they score zero and rank behind
    every item bought at least once: the honest floor for cold start.

    Args:
        train_sequences: the training sequences of :func:`cold_item_split`.
        n_items: catalog size.
        cases: the evaluation cases.
        cold_items: the held-out items; every target must be one of them.
        k: cutoff of the metrics.

    Returns:
        {"hr_10": ..., "ndcg_10": ..., "n_cases": ...} (the keys name the actual k).
    """
    _check_targets_cold(cases, cold_items)
    items = np.concatenate([np.zeros(0, np.int64), *[np.asarray(s, np.int64) for s in train_sequences]])
    popularity = np.bincount(items, minlength=n_items).astype(np.float32)
    return _ranking_metrics(lambda users, histories: np.tile(popularity, (len(users), 1)), cases, k)


def cold_start_report(split: ColdSplit, train_sequences: list[np.ndarray], n_items: int, embeddings: dict[str, np.ndarray], k: int = 10) -> dict:
    """Popularity and each set of item embeddings on the cold cases of `split`.

    Args:
        split: the cold-item split.
        train_sequences: what the models trained on (no cold item in it); popularity counts it.
        n_items: catalog size.
        embeddings: name (e.g. "frozen", "fine_tuned") to (n_items, d) item text embeddings.
        k: cutoff of the metrics.

    Returns:
        {"cold_items": ..., "cases": ..., "popularity": metrics, name: metrics, ...}, the
        metrics as :func:`evaluate_cold` returns them.
    """
    report = {
        "cold_items": int(len(split.cold_items)),
        "cases": len(split.cases),
        "popularity": evaluate_cold_popularity(train_sequences, n_items, split.cases, split.cold_items, k),
    }
    for name, vectors in embeddings.items():
        report[name] = evaluate_cold(vectors, split.cases, split.cold_items, k)
    return report


def _check_targets_cold(cases: ColdCases, cold_items: np.ndarray) -> None:
    if not np.isin(cases.targets, cold_items).all():
        raise ValueError("every case's target must be a cold item")


def _ranking_metrics(scores_fn, cases: ColdCases, k: int) -> dict:
    """Full-catalog ranks of the targets, chunked so the score matrix stays small."""
    ranks = [np.zeros(0, np.int64)]
    for start in range(0, len(cases), CHUNK_CASES):
        stop = min(start + CHUNK_CASES, len(cases))
        histories = cases.histories[start:stop]
        scores = np.asarray(scores_fn(cases.users[start:stop], histories))
        ranks.append(target_ranks(scores, cases.targets[start:stop], histories))
    ranks = np.concatenate(ranks)
    if len(ranks) == 0:  # None, not NaN: the metrics are stored as JSON
        return {f"hr_{k}": None, f"ndcg_{k}": None, "n_cases": 0}
    return {f"hr_{k}": hit_rate_at_k(ranks, k), f"ndcg_{k}": ndcg_at_k(ranks, k), "n_cases": int(len(ranks))}
