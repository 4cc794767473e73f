"""SASRec-style sequential recommender: a causal transformer over a shopper's events.

Sequences hold item indices 0..n_items-1. Inside the network item ``i`` is
stored as ``i + 1`` so that 0 can pad sequences on the left; positions are
counted from the right end, so a history gets the same positions however
much padding its batch needs, and padding is masked out of attention.

Each item's vector is a learned id embedding plus, when text embeddings are
given, a linear projection of the item's frozen text embedding. Items that
never occur in the training sequences keep only the text part, so a new item
scores by its resemblance to known ones instead of by an untrained id vector.
The same vectors embed the input events and score the next item (tied
weights), with a softmax over the whole catalog.
"""

import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from recommender.ml.device import pick_device
from recommender.ml.evaluation import ndcg_at_k, target_ranks
from recommender.ml.registry import atomic_directory

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TEXT_FILE = "text_embeddings.npy"
SCORE_BATCH = 512
NO_TARGET = -1


@dataclass
class SASRecConfig:
    """Hyper-parameters of a :class:`SASRecModel`.

    Attributes:
        n_items: Catalog size; item indices lie in [0, n_items).
        n_event_types: Number of event type codes; codes lie in [0, n_event_types).
        max_len: Events of a sequence the model reads (the most recent ones).
        hidden: Width of item vectors and hidden states.
        n_layers: Transformer blocks.
        n_heads: Attention heads per block; must divide ``hidden``.
        dropout: Drop probability on the input embeddings and inside every
            attention and feed-forward sub-layer, during training only.
        text_dim: Width of the frozen text embeddings; 0 means no text features.
        fuse: How text joins the id embedding; "add": id vector + Linear(text).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch_size: Training sequences per step.
        max_epochs: Upper bound on training epochs.
        patience: Validations without a better NDCG@10 before training stops.
        eval_every: Epochs between validations.
        time_limit_s: Wall-clock budget for training; None means no limit.
        seed: Seed of weight initialisation, shuffling and dropout.
    """

    n_items: int
    n_event_types: int = 8
    max_len: int = 50
    hidden: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.2
    text_dim: int = 0
    fuse: str = "add"
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 128
    max_epochs: int = 200
    patience: int = 5
    eval_every: int = 1
    time_limit_s: float | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        if self.fuse != "add":
            raise ValueError(f"unknown fuse mode {self.fuse!r}; only 'add' exists")
        if self.hidden % self.n_heads:
            raise ValueError("hidden must be a multiple of n_heads")

    def to_json(self) -> str:
        """Serialises the config.

        Returns:
            A JSON object with every field.
        """
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SASRecConfig":
        """Parses what :meth:`to_json` wrote.

        Args:
            text: A JSON object with the config's fields.

        Returns:
            The config.
        """
        return cls(**json.loads(text))


class SASRecNet(nn.Module):
    """The network: embeddings, causal self-attention blocks, final LayerNorm."""

    def __init__(self, config: SASRecConfig, text_embeddings: torch.Tensor | None = None) -> None:
        """Builds the layers.

        Args:
            config: Sizes and dropout.
            text_embeddings: (n_items, text_dim) frozen text vectors, required
                when ``config.text_dim`` > 0.
        """
        super().__init__()
        self.config = config
        self.item_embedding = nn.Embedding(config.n_items, config.hidden)
        self.position_embedding = nn.Embedding(config.max_len, config.hidden)
        self.type_embedding = nn.Embedding(config.n_event_types, config.hidden)
        for embedding in (self.item_embedding, self.position_embedding, self.type_embedding):
            nn.init.normal_(embedding.weight, std=0.02)
        self.input_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=config.hidden,
                nhead=config.n_heads,
                dim_feedforward=4 * config.hidden,
                dropout=config.dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(config.n_layers)
        )
        self.final_norm = nn.LayerNorm(config.hidden)
        self.text_projection = None
        if config.text_dim:
            if text_embeddings is None or tuple(text_embeddings.shape) != (
                config.n_items,
                config.text_dim,
            ):
                raise ValueError("text_embeddings must have shape (n_items, text_dim)")
            self.text_projection = nn.Linear(config.text_dim, config.hidden)
            # Saved beside the weights as an array file, not in the state_dict.
            self.register_buffer("text_embeddings", text_embeddings.float(), persistent=False)
            self.register_buffer("has_id_embedding", torch.ones(config.n_items))

    def mark_trained_items(self, items: torch.Tensor) -> None:
        """Keeps id embeddings only for the given items; the others use text alone.

        Has no effect without text features, where every item needs its id vector.

        Args:
            items: Indices of the items seen in training.
        """
        if self.text_projection is not None:
            self.has_id_embedding.zero_()
            self.has_id_embedding[items] = 1.0

    def item_representations(self) -> torch.Tensor:
        """Output-side item vectors, shared with the input embedding.

        Returns:
            (n_items, hidden) tensor; row i is item i.
        """
        ids = self.item_embedding.weight
        if self.text_projection is None:
            return ids
        return ids * self.has_id_embedding[:, None] + self.text_projection(self.text_embeddings)

    def item_table(self) -> torch.Tensor:
        """Input lookup table: a zero padding row, then :meth:`item_representations`.

        Returns:
            (n_items + 1, hidden) tensor indexed by stored item index.
        """
        representations = self.item_representations()
        padding = representations.new_zeros(1, representations.shape[1])
        return torch.cat([padding, representations])

    def forward(
        self,
        item_seq: torch.Tensor,
        type_seq: torch.Tensor,
        item_table: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Hidden state after each event.

        Args:
            item_seq: (B, L) stored item indices (item + 1), left-padded with 0, L <= max_len.
            type_seq: (B, L) event type codes (any value at padding).
            item_table: :meth:`item_table`, when the caller already has it.

        Returns:
            (B, L, hidden) tensor; position t summarises events up to t.
        """
        if item_table is None:
            item_table = self.item_table()
        length = item_seq.shape[1]
        positions = torch.arange(
            self.config.max_len - length, self.config.max_len, device=item_seq.device
        )
        hidden = item_table[item_seq] * math.sqrt(self.config.hidden)
        hidden = hidden + self.position_embedding(positions) + self.type_embedding(type_seq)
        hidden = self.input_dropout(hidden)
        mask = _attention_mask(item_seq, self.config.n_heads)
        for block in self.blocks:
            hidden = block(hidden, src_mask=mask)
        return self.final_norm(hidden)


def _attention_mask(item_seq: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Boolean mask, True where attention is blocked: the future and padding.

    A padding position may still see itself, so that no softmax row is empty
    (an empty row gives NaN, which would leak into later blocks).
    """
    length = item_seq.shape[1]
    future = torch.ones(length, length, dtype=torch.bool, device=item_seq.device).triu(1)
    is_padding = item_seq == 0
    if not bool(is_padding.any()):
        return future
    itself = torch.eye(length, dtype=torch.bool, device=item_seq.device)
    blocked = future | (is_padding[:, None, :] & ~itself)
    return blocked.repeat_interleave(n_heads, dim=0)


class SASRecModel:
    """Trains a :class:`SASRecNet` and scores shoppers' histories with it.

    Attributes:
        config: The hyper-parameters.
        device: Torch device of the network.
        net: The network.
    """

    def __init__(
        self,
        config: SASRecConfig,
        text_embeddings: np.ndarray | None = None,
        device: str | None = None,
    ) -> None:
        """Builds an untrained model.

        Args:
            config: Hyper-parameters; ``text_dim`` must match ``text_embeddings``.
            text_embeddings: (n_items, text_dim) frozen item text vectors, or None.
            device: Torch device; defaults to the GPU when there is one.
        """
        if (text_embeddings is None) != (config.text_dim == 0):
            raise ValueError("pass text_embeddings exactly when config.text_dim > 0")
        self.config = config
        self.device = pick_device(device)
        self._text_embeddings = (
            None if text_embeddings is None else np.ascontiguousarray(text_embeddings, np.float32)
        )
        text = None if self._text_embeddings is None else torch.from_numpy(self._text_embeddings)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.net = SASRecNet(config, text)
        self.net.to(self.device).eval()
        self._cached_table: torch.Tensor | None = None

    def fit(
        self,
        train_sequences: list[np.ndarray],
        train_types: list[np.ndarray] | None,
        valid_histories: list[np.ndarray],
        valid_types: list[np.ndarray] | None,
        valid_targets: np.ndarray,
        progress: Callable[[dict], None] | None = None,
    ) -> dict:
        """Trains with a full-catalog softmax on the next item at every position.

        Stops on patience, time limit or max_epochs and keeps the weights of
        the epoch with the best validation NDCG@10 (history items excluded
        from the ranking). Without validation targets it keeps the last weights.

        Args:
            train_sequences: Item indices per shopper, in time order.
            train_types: Event type codes aligned with ``train_sequences``, or None (all 0).
            valid_histories: Items per validation shopper, in time order.
            valid_types: Event types aligned with ``valid_histories``, or None.
            valid_targets: The next item per validation shopper; -1 skips the shopper.
            progress: Called after each epoch with
                {"epoch", "loss", "valid_ndcg10", "elapsed_s"}; valid_ndcg10
                is None on epochs without validation.

        Returns:
            {"epochs", "best_epoch", "best_valid_ndcg10", "seconds_per_epoch",
            "device", "stopped_by", "train_loss", "valid_ndcg10"}; the last
            two are per-epoch lists, and stopped_by is "patience",
            "time_limit" or "max_epochs".

        Raises:
            ValueError: No training sequence has two events.
        """
        config = self.config
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        windows = self._prepare_training(train_sequences, train_types)
        validation = _Validation.build(valid_histories, valid_types, valid_targets)
        optimizer = torch.optim.AdamW(
            self.net.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        scaler = torch.amp.GradScaler("cuda", enabled=self._amp_dtype() == torch.float16)
        started = time.monotonic()
        deadline = None if config.time_limit_s is None else started + config.time_limit_s
        tracker = _Tracker()
        stopped_by = "max_epochs"
        for epoch in range(1, config.max_epochs + 1):
            loss, out_of_time = self._train_epoch(windows, optimizer, scaler, rng, deadline)
            validate = out_of_time or epoch % config.eval_every == 0
            ndcg = self._validate(validation) if validate else None
            tracker.record(epoch, loss, ndcg, self.net)
            if progress is not None:
                elapsed = time.monotonic() - started
                progress(
                    {"epoch": epoch, "loss": loss, "valid_ndcg10": ndcg, "elapsed_s": elapsed}
                )
            if out_of_time or (deadline is not None and time.monotonic() >= deadline):
                stopped_by = "time_limit"
                break
            if tracker.stale >= config.patience:
                stopped_by = "patience"
                break
        tracker.restore_best(self.net)
        self.net.eval()
        self._cached_table = None
        return {
            **tracker.summary(),
            "seconds_per_epoch": (time.monotonic() - started) / len(tracker.losses),
            "device": self.device,
            "stopped_by": stopped_by,
        }

    def score(
        self, histories: list[np.ndarray], type_histories: list[np.ndarray] | None = None
    ) -> np.ndarray:
        """Scores every catalog item as the next event of each history.

        Args:
            histories: Item indices per shopper, in time order (may be empty).
            type_histories: Event types aligned with ``histories``, or None (all 0).

        Returns:
            float32 array (len(histories), n_items); higher is more likely next.
        """
        table = self._item_table()
        scores = np.empty((len(histories), self.config.n_items), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(histories), SCORE_BATCH):
                stop = min(start + SCORE_BATCH, len(histories))
                batch_types = None if type_histories is None else type_histories[start:stop]
                items, types = _left_pad(histories[start:stop], batch_types, self.config.max_len)
                items = torch.from_numpy(items).to(self.device)
                types = torch.from_numpy(types).to(self.device)
                last = self.net(items, types, item_table=table)[:, -1]
                scores[start:stop] = (last @ table[1:].T).float().cpu().numpy()
        return scores

    def score_users(self, user_indices: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """:meth:`score` with the evaluation contract ``scores_fn(user_indices, histories)``.

        Args:
            user_indices: Ignored: the model reads only the histories.
            histories: Item indices per user, in time order.

        Returns:
            float32 array (len(histories), n_items).
        """
        return self.score(histories)

    def save(self, directory: str | Path) -> None:
        """Writes config.json, the weights and the text embeddings, atomically.

        Args:
            directory: Artifact folder; replaced as a whole if it exists.
        """
        from safetensors.torch import save_file

        state = self.net.state_dict()
        weights = {name: tensor.detach().cpu().contiguous() for name, tensor in state.items()}
        with atomic_directory(directory) as staging:
            (staging / CONFIG_FILE).write_text(self.config.to_json())
            save_file(weights, str(staging / WEIGHTS_FILE))
            if self._text_embeddings is not None:
                np.save(staging / TEXT_FILE, self._text_embeddings, allow_pickle=False)

    @classmethod
    def load(cls, directory: str | Path, device: str | None = None) -> "SASRecModel":
        """Reads what :meth:`save` wrote.

        Args:
            directory: Artifact folder.
            device: Torch device; defaults to the GPU when there is one.

        Returns:
            The model, in eval mode.
        """
        from safetensors.torch import load_file

        directory = Path(directory)
        config = SASRecConfig.from_json((directory / CONFIG_FILE).read_text())
        text_path = directory / TEXT_FILE
        text = np.load(text_path, allow_pickle=False) if text_path.exists() else None
        model = cls(config, text, device)
        model.net.load_state_dict(load_file(str(directory / WEIGHTS_FILE), device=model.device))
        model.net.eval()
        return model

    def _item_table(self) -> torch.Tensor:
        # Item vectors only change in fit() and load(), so scoring reuses them.
        if self._cached_table is None:
            self.net.eval()
            with torch.inference_mode():
                self._cached_table = self.net.item_table()
        return self._cached_table

    def _amp_dtype(self) -> torch.dtype | None:
        if not self.device.startswith("cuda"):
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    def _autocast(self) -> contextlib.AbstractContextManager:
        amp_dtype = self._amp_dtype()
        if amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=amp_dtype)

    def _prepare_training(
        self, sequences: list[np.ndarray], type_sequences: list[np.ndarray] | None
    ) -> "_Windows":
        windows = _training_windows(sequences, type_sequences, self.config.max_len)
        if not len(windows.lengths):
            raise ValueError("no training sequence has two or more events")
        trained_items = np.unique(np.concatenate([np.asarray(s) for s in sequences]))
        self.net.mark_trained_items(torch.as_tensor(trained_items, device=self.device))
        return windows.to(self.device)

    def _train_epoch(
        self,
        windows: "_Windows",
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        rng: np.random.Generator,
        deadline: float | None,
    ) -> tuple[float, bool]:
        """One pass over the shuffled windows; returns (mean loss, ran out of time)."""
        self.net.train()
        self._cached_table = None
        order = rng.permutation(len(windows.lengths))
        total_loss, total_targets = 0.0, 0
        for start in range(0, len(order), self.config.batch_size):
            if deadline is not None and time.monotonic() >= deadline:
                return _mean_loss(total_loss, total_targets), True
            rows = torch.from_numpy(order[start : start + self.config.batch_size]).to(self.device)
            # Short sequences dominate shop data: cut the batch to its longest window.
            width = int(windows.lengths[rows].max())
            items = windows.items[rows, -width:].long()
            types = windows.types[rows, -width:].long()
            targets = windows.targets[rows, -width:].long()
            with self._autocast():
                table = self.net.item_table()
                hidden = self.net(items, types, item_table=table)
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

    def _validate(self, validation: "_Validation") -> float | None:
        if not len(validation.targets):
            return None
        self._cached_table = None
        ranks = []
        for start in range(0, len(validation.targets), SCORE_BATCH):
            stop = start + SCORE_BATCH
            histories = validation.histories[start:stop]
            types = None if validation.types is None else validation.types[start:stop]
            scores = self.score(histories, types)
            ranks.append(target_ranks(scores, validation.targets[start:stop], histories))
        return ndcg_at_k(np.concatenate(ranks), 10)


@dataclass
class _Tracker:
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


@dataclass
class _Windows:
    """Training windows, right-aligned in (N, max_len) int32 arrays.

    ``items`` holds stored indices (item + 1, 0 = padding), ``targets`` the
    next item (0-based, -1 = no target), ``lengths`` the real window lengths.
    """

    items: np.ndarray | torch.Tensor
    types: np.ndarray | torch.Tensor
    targets: np.ndarray | torch.Tensor
    lengths: np.ndarray | torch.Tensor

    def to(self, device: str) -> "_Windows":
        arrays = (self.items, self.types, self.targets, self.lengths)
        return _Windows(*(torch.from_numpy(array).to(device) for array in arrays))


def _training_windows(
    sequences: list[np.ndarray], type_sequences: list[np.ndarray] | None, max_len: int
) -> _Windows:
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
    return _Windows(items, types, targets, lengths)


def _left_pad(
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
class _Validation:
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
    ) -> "_Validation":
        targets = np.asarray(targets, dtype=np.int64)
        keep = np.flatnonzero(targets >= 0)
        return cls(
            histories=[np.asarray(histories[i], dtype=np.int64) for i in keep],
            types=None if types is None else [np.asarray(types[i]) for i in keep],
            targets=targets[keep],
        )
