"""One training epoch, mixed precision, and the per-epoch record that keeps the best weights."""

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from recommender.ml.nets.sasrec.batching import NO_TARGET, Windows
from recommender.ml.nets.sasrec.net import SASRecNet


@dataclass
class Tracker:
    """Per-epoch losses and validation scores, and the best weights so far."""

    losses: list[float] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    best_ndcg: float | None = None
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    stale: int = 0

    def record(self, epoch: int, loss: float, ndcg: float | None, net: nn.Module) -> None:
        self.losses.append(loss)
        self.scores.append(ndcg)
        if ndcg is None:
            return
        if self.best_ndcg is None or ndcg > self.best_ndcg:
            self.best_ndcg, self.best_epoch, self.stale = ndcg, epoch, 0
            self.best_state = {name: t.detach().clone() for name, t in net.state_dict().items()}
        else:
            self.stale += 1

    def restore_best(self, net: nn.Module) -> None:
        """Loads the best weights; without any validation the last ones stay."""
        if self.best_state is None:
            self.best_epoch = len(self.losses)
        else:
            net.load_state_dict(self.best_state)

    def summary(self) -> dict:
        return {
            "epochs": len(self.losses),
            "best_epoch": self.best_epoch,
            "best_valid_ndcg10": self.best_ndcg,
            "train_loss": self.losses,
            "valid_ndcg10": self.scores,
        }


def _mean_loss(total: float, count: int) -> float:
    return total / count if count else math.nan


def train_epoch(
    net: SASRecNet,
    windows: Windows,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    rng: np.random.Generator,
    deadline: float | None,
    device: str,
) -> tuple[float, bool]:
    """One pass over the shuffled windows; returns (mean loss, ran out of time)."""
    net.train()
    batch_size = net.config.batch_size
    order = rng.permutation(len(windows.lengths))
    total_loss, total_targets = 0.0, 0
    for start in range(0, len(order), batch_size):
        if deadline is not None and time.monotonic() >= deadline:
            return _mean_loss(total_loss, total_targets), True
        rows = torch.from_numpy(order[start : start + batch_size]).to(device)
        # Short sequences dominate shop data: cut the batch to its longest window.
        width = int(windows.lengths[rows].max())
        items = windows.items[rows, -width:].long()
        types = windows.types[rows, -width:].long()
        targets = windows.targets[rows, -width:].long()
        with autocast(device):
            table = net.item_table()
            hidden = net(items, types, item_table=table)
            is_target = targets != NO_TARGET
            logits = hidden[is_target] @ table[1:].T
            loss = nn.functional.cross_entropy(logits.float(), targets[is_target])
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        n_targets = int(is_target.sum())
        total_loss += float(loss.detach()) * n_targets
        total_targets += n_targets
    return _mean_loss(total_loss, total_targets), False


def amp_dtype(device: str) -> torch.dtype | None:
    """The autocast dtype on CUDA (bfloat16 where supported, else float16); None elsewhere."""
    if not device.startswith("cuda"):
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: str) -> contextlib.AbstractContextManager:
    dtype = amp_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=dtype)
