"""The best k of a score vector, for serving: one shopper's or one item's scores over the catalog."""

import numpy as np


def top_indices(scores: np.ndarray, k: int, exclude: np.ndarray | list[int] = ()) -> np.ndarray:
    """Indices of the k highest scores, best first, leaving out `exclude` and scores of -inf."""
    scores = scores.astype(np.float32, copy=True)
    scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def ranked_pairs(keys: np.ndarray, indices: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
    """(keys[index], score) for each of `indices` and its score in `scores`, in their order, as plain Python
    numbers; an index scored -inf (nothing to rank) is left out.

    Converted in bulk: pair by pair, numpy's scalars cost a page more than the scoring they convert.
    """
    kept = scores > -np.inf
    return list(zip(keys[indices[kept]].tolist(), scores[kept].tolist()))
