"""Interaction data as plain arrays, per-user sequences and the leave-last-out split.

Users and items are dense integer indices (0..n_users-1, 0..n_items-1); the
mapping from shop ids to indices belongs to the caller.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse

MIN_EVENTS_FOR_EVALUATION = 3


@dataclass(frozen=True)
class Interactions:
    """A log of events, one row per event.

    Attributes:
        user_ids: int64 user index per event.
        item_ids: int64 item index per event.
        weights: float32 strength per event (a purchase outweighs a view).
        timestamps: float64 seconds since the epoch per event.
        event_types: int64 small code per event (view, cart, purchase...).
        n_users: number of users; user indices are below it.
        n_items: number of items; item indices are below it.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    weights: np.ndarray
    timestamps: np.ndarray
    event_types: np.ndarray
    n_users: int
    n_items: int

    def __post_init__(self) -> None:
        lengths = {
            len(self.user_ids),
            len(self.item_ids),
            len(self.weights),
            len(self.timestamps),
            len(self.event_types),
        }
        if len(lengths) != 1:
            raise ValueError("all event arrays must have the same length")
        if len(self.user_ids) and (self.user_ids.min() < 0 or self.user_ids.max() >= self.n_users):
            raise ValueError("user_ids must lie in [0, n_users)")
        if len(self.item_ids) and (self.item_ids.min() < 0 or self.item_ids.max() >= self.n_items):
            raise ValueError("item_ids must lie in [0, n_items)")

    def sequences(self) -> list[np.ndarray]:
        """Items of each user in time order.

        Returns:
            One int64 array per user (list index = user index), sorted by
            timestamp; events with equal timestamps keep their row order.
        """
        return self._per_user(self.item_ids)

    def type_sequences(self) -> list[np.ndarray]:
        """Event types of each user, aligned with `sequences()`.

        Returns:
            One int64 array per user, in the same order as `sequences()`.
        """
        return self._per_user(self.event_types)

    def weight_sequences(self) -> list[np.ndarray]:
        """Event weights of each user, aligned with `sequences()`.

        Returns:
            One float32 array per user, in the same order as `sequences()`.
        """
        return self._per_user(self.weights)

    def _per_user(self, values: np.ndarray) -> list[np.ndarray]:
        # Two stable sorts (time, then user) keep row order for equal timestamps.
        order = np.argsort(self.timestamps, kind="stable")
        order = order[np.argsort(self.user_ids[order], kind="stable")]
        counts = np.bincount(self.user_ids, minlength=self.n_users)
        return np.split(values[order], np.cumsum(counts)[:-1])


@dataclass(frozen=True)
class LeaveLastOutSplit:
    """Per-user chronological split: the last event tests, the one before validates.

    For a user with sequence `seq` of at least three events:
    `train = valid_history = seq[:-2]`, `valid_targets = seq[-2]`,
    `test_history = seq[:-1]`, `test_targets = seq[-1]`. A user with fewer
    events keeps the whole sequence as train and as both histories, and gets
    target -1 in both target arrays (evaluation skips them).

    Attributes:
        train: item sequences to train on, one per user.
        train_types: event types aligned with `train`.
        valid_history: history from which the validation target is predicted.
        valid_history_types: event types aligned with `valid_history`.
        valid_targets: int64 validation target per user, -1 when none.
        test_history: history from which the test target is predicted.
        test_history_types: event types aligned with `test_history`.
        test_targets: int64 test target per user, -1 when none.
    """

    train: list[np.ndarray]
    train_types: list[np.ndarray]
    valid_history: list[np.ndarray]
    valid_history_types: list[np.ndarray]
    valid_targets: np.ndarray
    test_history: list[np.ndarray]
    test_history_types: list[np.ndarray]
    test_targets: np.ndarray


def leave_last_out(
    sequences: list[np.ndarray], type_sequences: list[np.ndarray] | None = None
) -> LeaveLastOutSplit:
    """Split every user's time-ordered sequence into train, validation and test.

    Args:
        sequences: item ids per user, in time order (see `Interactions.sequences`).
        type_sequences: event types aligned with `sequences`; every event gets
            type 0 when omitted.

    Returns:
        The split, as described on `LeaveLastOutSplit`.
    """
    if type_sequences is None:
        type_sequences = [np.zeros(len(seq), dtype=np.int64) for seq in sequences]
    n_users = len(sequences)
    valid_targets = np.full(n_users, -1, dtype=np.int64)
    test_targets = np.full(n_users, -1, dtype=np.int64)
    train, train_types, test_history, test_history_types = [], [], [], []
    for user, (seq, types) in enumerate(zip(sequences, type_sequences)):
        if len(seq) < MIN_EVENTS_FOR_EVALUATION:
            train.append(seq)
            train_types.append(types)
            test_history.append(seq)
            test_history_types.append(types)
            continue
        valid_targets[user] = seq[-2]
        test_targets[user] = seq[-1]
        train.append(seq[:-2])
        train_types.append(types[:-2])
        test_history.append(seq[:-1])
        test_history_types.append(types[:-1])
    return LeaveLastOutSplit(
        train=train,
        train_types=train_types,
        valid_history=list(train),
        valid_history_types=list(train_types),
        valid_targets=valid_targets,
        test_history=test_history,
        test_history_types=test_history_types,
        test_targets=test_targets,
    )


def sequences_to_matrix(
    sequences: list[np.ndarray], n_items: int, weights: list[np.ndarray] | None = None
) -> scipy.sparse.csr_matrix:
    """Sum per-user events into a users x items sparse matrix.

    Args:
        sequences: item ids per user (list index = user index).
        n_items: number of columns.
        weights: per-event weights aligned with `sequences`; 1 per event when
            omitted.

    Returns:
        float32 CSR matrix of shape (len(sequences), n_items) whose entry
        (u, i) is the summed weight of user u's events on item i.
    """
    lengths = np.fromiter((len(seq) for seq in sequences), dtype=np.int64, count=len(sequences))
    rows = np.repeat(np.arange(len(sequences), dtype=np.int64), lengths)
    cols = _concatenate(sequences, np.int64)
    if weights is None:
        data = np.ones(len(cols), dtype=np.float32)
    else:
        data = _concatenate(weights, np.float32)
    matrix = scipy.sparse.csr_matrix((data, (rows, cols)), shape=(len(sequences), n_items))
    matrix.sum_duplicates()
    return matrix


def _concatenate(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    # np.concatenate refuses an empty list; an empty log is still a valid input.
    if not arrays:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(arrays).astype(dtype, copy=False)


def top_category_codes(category_paths: list[str], separator: str = " > ") -> np.ndarray:
    """A code per item for its top-level category, in name order; -1 for an item without one.

    Args:
        category_paths: per item, its category path from the root ("Makeup > Nails"), or "".
        separator: what separates the levels of a path.

    Returns:
        (n_items,) int64 codes.
    """
    top = [path.split(separator)[0] if path else "" for path in category_paths]
    codes = {name: code for code, name in enumerate(sorted(set(top) - {""}))}
    return np.asarray([codes.get(name, -1) for name in top], dtype=np.int64)
