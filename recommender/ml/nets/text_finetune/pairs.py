"""The training pairs: items one shopper engaged with a few steps apart."""

import numpy as np


def co_engaged_pairs(
    sequences: list[np.ndarray], window: int = 3, max_pairs: int | None = None, seed: int = 0
) -> np.ndarray:
    """Pairs of items a shopper engaged with within `window` steps of each other.

    Pairs are unordered: (a, b) and (b, a) count once, stored as (min, max),
    because the contrastive loss is symmetric. Self-pairs (an item bought
    again) are dropped.

    Args:
        sequences: per shopper, item indices oldest first.
        window: the largest gap in steps between the two events of a pair.
        max_pairs: keep at most this many pairs, drawn at random.
        seed: seed of that draw.

    Returns:
        int64 array (n_pairs, 2), rows sorted, each row (smaller item, larger item).
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    items, owners = _flatten(sequences)
    parts = [np.zeros((0, 2), dtype=np.int64)]
    for gap in range(1, window + 1):
        same_shopper = owners[:-gap] == owners[gap:]
        parts.append(np.stack([items[:-gap][same_shopper], items[gap:][same_shopper]], axis=1))
    pairs = np.concatenate(parts)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    if max_pairs is not None and len(pairs) > max_pairs:
        chosen = np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False)
        pairs = pairs[np.sort(chosen)]
    return pairs.astype(np.int64)


def _flatten(sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All items in one array, with the index of the sequence each came from."""
    lengths = [len(sequence) for sequence in sequences]
    if not sequences or sum(lengths) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    items = np.concatenate([np.asarray(sequence, dtype=np.int64) for sequence in sequences])
    return items, np.repeat(np.arange(len(sequences)), lengths)
