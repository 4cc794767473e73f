"""The best k of a score vector, for serving: one shopper's or one item's scores over the catalog."""

from collections.abc import Callable

import numpy as np
import torch


def top_indices(scores: np.ndarray, k: int, exclude: np.ndarray | list[int] = ()) -> np.ndarray:
    """Indices of the k highest scores, best first (equal scores by index), leaving out `exclude` and scores of -inf."""
    scores = scores.astype(np.float32, copy=True)
    scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
    scores[np.isnan(scores)] = -np.inf  # torch ranks NaN above every number: a broken score must never lead
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    # torch's top-k selects from 100k scores five times faster than numpy's argpartition, in every page's families.
    values, top = (tensor.numpy() for tensor in torch.topk(torch.from_numpy(scores), k))
    kept = values > -np.inf
    values, top = values[kept], top[kept]
    return top[np.lexsort((top, -values))]


def ranked_pairs(keys: np.ndarray, indices: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
    """(keys[index], score) for each of `indices` and its score in `scores`, in their order, as plain Python
    numbers; an index scored -inf (nothing to rank) is left out.

    Converted in bulk: pair by pair, numpy's scalars cost a page more than the scoring they convert.
    """
    kept = scores > -np.inf
    return list(zip(keys[indices[kept]].tolist(), scores[kept].tolist()))


# Items whose nearest items are remembered, per catalog snapshot and per loaded model: a scan of every vector each.
NEIGHBOURS_KEPT = 2048


class RankedMemo:
    """Ranked lists by key, for keys asked for again and again (an item's nearest items), kept as arrays: a
    tenth of the memory of Python pairs. Emptied whole when `size` keys are kept, so a read never waits on an
    eviction order; the caller empties it when what the lists were ranked from changes."""

    def __init__(self, size: int = NEIGHBOURS_KEPT):
        self.size = size
        self._kept: dict = {}

    def ranked(self, key, rank: Callable[[], list[tuple[int, float]]]) -> list[tuple[int, float]]:
        """The list kept for `key`, or the one `rank()` returns, kept."""
        found = self._kept.get(key)
        if found is None:
            ranked = rank()
            if len(self._kept) >= self.size:
                self._kept = {}
            found = self._kept[key] = (
                np.fromiter((pk for pk, _ in ranked), dtype=np.int64, count=len(ranked)),
                np.fromiter((score for _, score in ranked), dtype=np.float64, count=len(ranked)),
            )
        return list(zip(found[0].tolist(), found[1].tolist()))

    def clear(self) -> None:
        self._kept = {}
