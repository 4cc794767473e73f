"""Shoppers' sequences as the padded arrays the network reads: training windows, scoring batches, validation."""

from dataclasses import dataclass

import numpy as np
import torch

NO_TARGET = -1


@dataclass
class Windows:
    """Training windows, right-aligned in (N, max_len) int32 arrays.

    ``items`` holds stored indices (item + 1, 0 = padding), ``targets`` the
    next item (0-based, -1 = no target), ``lengths`` the real window lengths.
    """

    items: np.ndarray | torch.Tensor
    types: np.ndarray | torch.Tensor
    targets: np.ndarray | torch.Tensor
    lengths: np.ndarray | torch.Tensor

    def to(self, device: str) -> "Windows":
        arrays = (self.items, self.types, self.targets, self.lengths)
        return Windows(*(torch.from_numpy(array).to(device) for array in arrays))


def training_windows(
    sequences: list[np.ndarray], type_sequences: list[np.ndarray] | None, max_len: int
) -> Windows:
    """The last max_len events of each sequence as inputs, each next event as target."""
    usable = [i for i, sequence in enumerate(sequences) if len(sequence) >= 2]
    items = np.zeros((len(usable), max_len), dtype=np.int32)
    types = np.zeros((len(usable), max_len), dtype=np.int32)
    targets = np.full((len(usable), max_len), NO_TARGET, dtype=np.int32)
    lengths = np.zeros(len(usable), dtype=np.int32)
    for row, user in enumerate(usable):
        sequence = np.asarray(sequences[user])[-(max_len + 1) :]
        length = len(sequence) - 1
        items[row, max_len - length :] = sequence[:-1] + 1
        targets[row, max_len - length :] = sequence[1:]
        if type_sequences is not None:
            types[row, max_len - length :] = np.asarray(type_sequences[user])[-(max_len + 1) : -1]
        lengths[row] = length
    return Windows(items, types, targets, lengths)


def left_pad(
    histories: list[np.ndarray], type_histories: list[np.ndarray] | None, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """(B, width) int64 stored items and types, right-aligned.

    width is at least 1, so an empty history becomes a single padding step.
    """
    width = max(1, min(max_len, max((len(h) for h in histories), default=0)))
    items = np.zeros((len(histories), width), dtype=np.int64)
    types = np.zeros((len(histories), width), dtype=np.int64)
    for row, history in enumerate(histories):
        recent = np.asarray(history, dtype=np.int64)[-width:]
        items[row, width - len(recent) :] = recent + 1
        if type_histories is not None:
            types[row, width - len(recent) :] = np.asarray(type_histories[row])[-width:]
    return items, types


@dataclass
class Validation:
    """Validation shoppers that have a target."""

    histories: list[np.ndarray]
    types: list[np.ndarray] | None
    targets: np.ndarray

    @classmethod
    def build(
        cls,
        histories: list[np.ndarray],
        types: list[np.ndarray] | None,
        targets: np.ndarray,
    ) -> "Validation":
        targets = np.asarray(targets, dtype=np.int64)
        keep = np.flatnonzero(targets >= 0)
        return cls(
            histories=[np.asarray(histories[i], dtype=np.int64) for i in keep],
            types=None if types is None else [np.asarray(types[i]) for i in keep],
            targets=targets[keep],
        )
