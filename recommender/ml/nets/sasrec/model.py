"""The model: builds the network, trains it with early stopping, scores histories, saves and loads it."""

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from recommender.ml.device import pick_device
from recommender.ml.evaluation import ndcg_at_k, target_ranks
from recommender.ml.nets.sasrec.batching import Validation, Windows, left_pad, training_windows
from recommender.ml.nets.sasrec.config import SASRecConfig
from recommender.ml.nets.sasrec.net import SASRecNet
from recommender.ml.nets.sasrec.training import Tracker, amp_dtype, train_epoch
from recommender.ml.registry import atomic_directory

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TEXT_FILE = "text_embeddings.npy"
SCORE_BATCH = 512


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
        validation = Validation.build(valid_histories, valid_types, valid_targets)
        optimizer = torch.optim.AdamW(
            self.net.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype(self.device) == torch.float16)
        started = time.monotonic()
        deadline = None if config.time_limit_s is None else started + config.time_limit_s
        tracker = Tracker()
        stopped_by = "max_epochs"
        for epoch in range(1, config.max_epochs + 1):
            self._cached_table = None  # the epoch changes the item vectors scoring would reuse
            loss, out_of_time = train_epoch(self.net, windows, optimizer, scaler, rng, deadline, self.device)
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
        self,
        histories: list[np.ndarray],
        type_histories: list[np.ndarray] | None = None,
        new_vectors: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores every catalog item as the next event of each history, and items the model never saw.

        Args:
            histories: Item indices per shopper, in time order (may be empty).
            type_histories: Event types aligned with ``histories``, or None (all 0).
            new_vectors: (n_new, text_dim) text vectors of items outside the model's catalog (embedded since it
                was trained), scored by their text alone, as the model scores its items that had no events.

        Returns:
            float32 array (len(histories), n_items + n_new); higher is more likely next.
        """
        table = self._item_table()
        outputs = table[1:]
        if new_vectors is not None and len(new_vectors):
            outputs = torch.cat([outputs, self._text_representations(new_vectors)])
        scores = np.empty((len(histories), len(outputs)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(histories), SCORE_BATCH):
                stop = min(start + SCORE_BATCH, len(histories))
                batch_types = None if type_histories is None else type_histories[start:stop]
                items, types = left_pad(histories[start:stop], batch_types, self.config.max_len)
                items = torch.from_numpy(items).to(self.device)
                types = torch.from_numpy(types).to(self.device)
                last = self.net(items, types, item_table=table)[:, -1]
                scores[start:stop] = (last @ outputs.T).float().cpu().numpy()
        return scores

    @property
    def reads_text(self) -> bool:
        """Whether the model can score an item by its text vector alone (it was trained with text vectors)."""
        return self.net.text_projection is not None

    def _text_representations(self, vectors: np.ndarray) -> torch.Tensor:
        if not self.reads_text:
            raise ValueError("this model was trained without text vectors: it can score only its own items")
        with torch.inference_mode():
            return self.net.text_projection(torch.as_tensor(np.asarray(vectors, dtype=np.float32), device=self.device))

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

    def _prepare_training(
        self, sequences: list[np.ndarray], type_sequences: list[np.ndarray] | None
    ) -> Windows:
        windows = training_windows(sequences, type_sequences, self.config.max_len)
        if not len(windows.lengths):
            raise ValueError("no training sequence has two or more events")
        trained_items = np.unique(np.concatenate([np.asarray(s) for s in sequences]))
        self.net.mark_trained_items(torch.as_tensor(trained_items, device=self.device))
        return windows.to(self.device)

    def _validate(self, validation: Validation) -> float | None:
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

