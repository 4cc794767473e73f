"""Offline ranking metrics: pure functions over score matrices, ranks and top-k lists.

Every model is judged the same way: each evaluated user has one held-out
target item, ranked against the full catalog (no negative sampling) after the
items already in the user's history are removed.
"""

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

CHUNK_USERS = 1024
LIST_LENGTH = 10

ScoresFn = Callable[[np.ndarray, list[np.ndarray]], np.ndarray]


def target_ranks(
    scores: np.ndarray,
    targets: np.ndarray,
    exclude: list[np.ndarray] | None = None,
    chunk_size: int = CHUNK_USERS,
) -> np.ndarray:
    """0-based rank of each user's target among all items.

    The rank is the number of items with a strictly greater score, so a
    target tied with other items is ranked ahead of all of them; models
    that give constant scores therefore look optimistic, not random.

    Args:
        scores: (n_users, n_items) scores, higher is better.
        targets: (n_users,) target item per row; all must be valid item ids.
        exclude: per row, the items to remove from the ranking (the user's
            history). The target is never removed, even when listed.
        chunk_size: rows processed at once, bounding the extra memory to
            chunk_size x n_items scores.

    Returns:
        int64 array (n_users,) of ranks.
    """
    targets = np.asarray(targets, dtype=np.int64)
    _check_rows(scores, targets, exclude)
    if len(targets) and (targets.min() < 0 or targets.max() >= scores.shape[1]):
        raise ValueError("targets must be item ids; drop users with target -1 first")
    ranks = np.empty(len(targets), dtype=np.int64)
    for start in range(0, len(targets), chunk_size):
        stop = min(start + chunk_size, len(targets))
        chunk, _ = _masked_chunk(scores, exclude, start, stop)
        # Read the target score from the unmasked scores so that a target
        # listed in the history still competes with its own score.
        target_scores = scores[np.arange(start, stop), targets[start:stop]]
        ranks[start:stop] = (chunk > target_scores[:, None]).sum(axis=1)
    return ranks


def top_k(
    scores: np.ndarray,
    k: int,
    exclude: list[np.ndarray] | None = None,
    chunk_size: int = CHUNK_USERS,
) -> np.ndarray:
    """Best k items per row, best first, never an excluded item.

    Args:
        scores: (n_users, n_items) scores, higher is better.
        k: list length.
        exclude: per row, the items that must not be returned.
        chunk_size: rows processed at once.

    Returns:
        int64 array (n_users, k) of item ids, padded with -1 where fewer
        than k items are left after exclusion.
    """
    _check_rows(scores, None, exclude)
    n_users, n_items = scores.shape
    top = np.full((n_users, k), -1, dtype=np.int64)
    kept = min(k, n_items)
    if kept == 0:
        return top
    for start in range(0, n_users, chunk_size):
        stop = min(start + chunk_size, n_users)
        chunk, excluded = _masked_chunk(scores, exclude, start, stop)
        candidates = np.argpartition(-chunk, kept - 1, axis=1)[:, :kept]
        order = np.argsort(-np.take_along_axis(chunk, candidates, axis=1), axis=1, kind="stable")
        chosen = np.take_along_axis(candidates, order, axis=1)
        top[start:stop, :kept] = np.where(np.take_along_axis(excluded, chosen, axis=1), -1, chosen)
    return top


def hit_rate_at_k(ranks: np.ndarray, k: int) -> float:
    """Share of users whose target ranks in the top k.

    Args:
        ranks: 0-based target ranks.
        k: cutoff.

    Returns:
        HR@k, NaN for no users.
    """
    return _mean(np.asarray(ranks) < k)


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """Recall@k with one relevant item per user, which equals HR@k.

    Args:
        ranks: 0-based target ranks.
        k: cutoff.

    Returns:
        Recall@k, NaN for no users.
    """
    return hit_rate_at_k(ranks, k)


def precision_at_k(ranks: np.ndarray, k: int) -> float:
    """Precision@k with one relevant item per user: HR@k / k.

    Args:
        ranks: 0-based target ranks.
        k: cutoff.

    Returns:
        Precision@k, NaN for no users.
    """
    return hit_rate_at_k(ranks, k) / k


def ndcg_at_k(ranks: np.ndarray, k: int) -> float:
    """NDCG@k with one relevant item: 1 / log2(rank + 2) inside the top k, else 0.

    Args:
        ranks: 0-based target ranks.
        k: cutoff.

    Returns:
        Mean NDCG@k, NaN for no users.
    """
    ranks = np.asarray(ranks)
    return _mean(np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0))


def mrr(ranks: np.ndarray) -> float:
    """Mean reciprocal rank: mean of 1 / (rank + 1), no cutoff.

    Args:
        ranks: 0-based target ranks.

    Returns:
        MRR, NaN for no users.
    """
    return _mean(1.0 / (np.asarray(ranks) + 1.0))


def catalog_coverage(top_items: np.ndarray, n_items: int) -> float:
    """Share of the catalog that appears in at least one list.

    Args:
        top_items: (n_users, k) item ids, -1 for padding.
        n_items: catalog size.

    Returns:
        Fraction of items in [0, 1].
    """
    return len(np.unique(top_items[top_items >= 0])) / n_items


def intra_list_diversity(
    top_items: np.ndarray, item_embeddings: np.ndarray, chunk_size: int = CHUNK_USERS
) -> float:
    """Mean pairwise cosine distance (1 - cos) inside each list, averaged over lists.

    Args:
        top_items: (n_users, k) item ids, -1 for padding (ignored).
        item_embeddings: (n_items, d) item vectors; a zero vector is at
            distance 1 from everything.
        chunk_size: lists processed at once.

    Returns:
        ILD over the lists that hold at least two items, NaN when none does.
    """
    embeddings = np.asarray(item_embeddings, dtype=np.float64)
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    k = top_items.shape[1]
    upper = np.triu(np.ones((k, k), dtype=bool), 1)
    per_list = []
    for start in range(0, len(top_items), chunk_size):
        items = top_items[start : start + chunk_size]
        valid = items >= 0
        vectors = unit[np.where(valid, items, 0)]
        cosines = np.einsum("uid,ujd->uij", vectors, vectors)
        pairs = valid[:, :, None] & valid[:, None, :] & upper
        n_pairs = pairs.sum(axis=(1, 2))
        distances = ((1.0 - cosines) * pairs).sum(axis=(1, 2))
        has_pairs = n_pairs > 0
        per_list.append(distances[has_pairs] / n_pairs[has_pairs])
    return _mean(np.concatenate(per_list) if per_list else np.zeros(0))


def distinct_categories(top_items: np.ndarray, item_categories: np.ndarray) -> float:
    """Mean number of distinct categories per list.

    Args:
        top_items: (n_users, k) item ids, -1 for padding (ignored).
        item_categories: (n_items,) category code per item, -1 for unknown;
            unknown categories are not counted.

    Returns:
        Mean count over all lists, NaN for no lists.
    """
    categories = np.where(top_items >= 0, item_categories[np.maximum(top_items, 0)], -1)
    categories = np.sort(categories, axis=1)
    starts_run = np.ones(categories.shape, dtype=bool)
    starts_run[:, 1:] = categories[:, 1:] != categories[:, :-1]
    return _mean((starts_run & (categories >= 0)).sum(axis=1))


def novelty(top_items: np.ndarray, item_popularity: np.ndarray) -> float:
    """Mean self-information -log2 p(i) of the recommended items.

    p(i) = popularity(i) / total popularity, i.e. the item's share of all
    interactions. Items with zero popularity are floored to the least popular
    item that has any, so unseen items count as rare, not infinitely novel.

    Args:
        top_items: (n_users, k) item ids, -1 for padding (ignored).
        item_popularity: (n_items,) interaction counts or weights per item.

    Returns:
        Mean bits over all recommended items, NaN when there are none or
        when no item has any popularity.
    """
    popularity = np.asarray(item_popularity, dtype=np.float64)
    seen = popularity[popularity > 0]
    if not seen.size:
        return math.nan
    share = np.maximum(popularity, seen.min()) / popularity.sum()
    return _mean(-np.log2(share)[top_items[top_items >= 0]])


@dataclass
class RankingReport:
    """All offline metrics of one model on one split.

    Accuracy metrics come from full-catalog target ranks; coverage, ILD,
    distinct categories and novelty from each user's top-10 list.
    """

    hr_10: float
    ndcg_10: float
    recall_20: float
    ndcg_20: float
    mrr: float
    precision_10: float
    coverage: float
    ild: float
    distinct_categories: float
    novelty: float
    n_users: int

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready metrics; NaN becomes None because PostgreSQL JSON rejects NaN.

        Returns:
            Field name to value.
        """
        return {
            name: None if isinstance(value, float) and math.isnan(value) else value
            for name, value in asdict(self).items()
        }


def evaluate_scores(
    scores_fn: ScoresFn,
    histories: list[np.ndarray],
    targets: np.ndarray,
    n_items: int,
    item_embeddings: np.ndarray | None = None,
    item_categories: np.ndarray | None = None,
    item_popularity: np.ndarray | None = None,
    batch_size: int = 1024,
) -> RankingReport:
    """Score every user with a target, rank it and compute every metric.

    Args:
        scores_fn: called as scores_fn(user_indices, histories_of_those_users),
            returns (len(user_indices), n_items) scores.
        histories: per user (list index = user index), the items seen before
            the target; they are excluded from ranking and from the lists.
        targets: (n_users,) target item per user, -1 to skip the user.
        n_items: catalog size.
        item_embeddings: (n_items, d) vectors for ILD; ILD is NaN without them.
        item_categories: (n_items,) codes for distinct categories; NaN without.
        item_popularity: (n_items,) counts for novelty; NaN without.
        batch_size: users scored per call of scores_fn.

    Returns:
        The report.
    """
    targets = np.asarray(targets, dtype=np.int64)
    users = np.flatnonzero(targets >= 0)
    rank_parts = [np.zeros(0, dtype=np.int64)]
    list_parts = [np.zeros((0, LIST_LENGTH), dtype=np.int64)]
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        batch_histories = [np.asarray(histories[user], dtype=np.int64) for user in batch]
        scores = np.asarray(scores_fn(batch, batch_histories))
        if scores.shape != (len(batch), n_items):
            raise ValueError(f"scores_fn returned {scores.shape}, expected {(len(batch), n_items)}")
        rank_parts.append(target_ranks(scores, targets[batch], batch_histories))
        list_parts.append(top_k(scores, LIST_LENGTH, batch_histories))
    ranks = np.concatenate(rank_parts)
    lists = np.concatenate(list_parts)
    return RankingReport(
        hr_10=hit_rate_at_k(ranks, 10),
        ndcg_10=ndcg_at_k(ranks, 10),
        recall_20=recall_at_k(ranks, 20),
        ndcg_20=ndcg_at_k(ranks, 20),
        mrr=mrr(ranks),
        precision_10=precision_at_k(ranks, 10),
        coverage=catalog_coverage(lists, n_items),
        ild=math.nan if item_embeddings is None else intra_list_diversity(lists, item_embeddings),
        distinct_categories=(
            math.nan if item_categories is None else distinct_categories(lists, item_categories)
        ),
        novelty=math.nan if item_popularity is None else novelty(lists, item_popularity),
        n_users=len(users),
    )


def _check_rows(
    scores: np.ndarray, targets: np.ndarray | None, exclude: list[np.ndarray] | None
) -> None:
    if scores.ndim != 2:
        raise ValueError("scores must be (n_users, n_items)")
    if targets is not None and len(targets) != len(scores):
        raise ValueError("targets must have one entry per row of scores")
    if exclude is not None and len(exclude) != len(scores):
        raise ValueError("exclude must have one entry per row of scores")


def _masked_chunk(
    scores: np.ndarray, exclude: list[np.ndarray] | None, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Copy rows start:stop with excluded items at -inf; also return the exclusion mask."""
    chunk = scores[start:stop].astype(np.promote_types(scores.dtype, np.float32), copy=True)
    excluded = np.zeros(chunk.shape, dtype=bool)
    if exclude is not None:
        rows_items = exclude[start:stop]
        lengths = [len(items) for items in rows_items]
        rows = np.repeat(np.arange(stop - start), lengths)
        items = np.concatenate(rows_items).astype(np.int64) if rows_items else np.zeros(0, np.int64)
        excluded[rows, items] = True
        chunk[excluded] = -np.inf
    return chunk, excluded


def _mean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if values.size else math.nan
