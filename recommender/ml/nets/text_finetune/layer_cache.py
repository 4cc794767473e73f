"""The frozen lower layers' output per item, computed once, so that only the top layers run each step."""

from collections.abc import Callable

import numpy as np

from recommender.ml.nets.text_encoder import TextEncoder
from recommender.ml.nets.text_finetune.pooling import mean_pool


class LowerLayerCache:
    """Per item, the output of the frozen lower layers of a BERT-style encoder, computed once.

    When only the top layers train (``FineTuneConfig.top_layers``), the lower
    layers give the same output for an item at every step, so it is stored
    (float32, trimmed to the item's tokens) and only the top layers run
    forward and backward. :meth:`encode` then embeds items through the
    current top layers at a fraction of a full pass; it matches
    ``TextEncoder.encode`` with the same max_length.

    Args:
        encoder: the encoder (plain or with its adapter attached).
        texts: per item index, the item's text.
        top_layers: how many of the last layers are not cached.
        max_length: tokens kept per text.
        batch_size: texts per forward pass when filling the cache.
    """

    def __init__(self, encoder: TextEncoder, texts: list[str], top_layers: int, max_length: int = 64, batch_size: int = 64) -> None:
        self.encoder = encoder
        self.texts = texts
        self.max_length = max_length
        self.batch_size = batch_size
        self.bert = _bert_of(encoder.model)
        self.n_lower = len(self.bert.encoder.layer) - top_layers
        if not 0 <= self.n_lower < len(self.bert.encoder.layer):
            raise ValueError("top_layers must be between 1 and the number of layers")
        self.states: dict[int, object] = {}

    def fill(self, items: np.ndarray, progress: Callable[[int, int], None] | None = None) -> None:
        """Computes the lower-layer output of every item not cached yet.

        Args:
            items: item indices.
            progress: called after each batch with (items done, total missing).
        """

        missing = [int(item) for item in dict.fromkeys(np.asarray(items).tolist()) if item not in self.states]
        missing.sort(key=lambda item: len(self.texts[item]))  # similar lengths pad little
        frozen = [self.bert.embeddings, *self.bert.encoder.layer[: self.n_lower]]
        was_training = [module.training for module in frozen]
        # Filled in the middle of training too: the cached output must be the dropout-free one.
        for module in frozen:
            module.eval()
        try:
            self._fill_missing(missing, progress)
        finally:
            for module, training in zip(frozen, was_training):
                module.train(training)

    def _fill_missing(self, missing: list[int], progress: Callable[[int, int], None] | None) -> None:
        import torch

        with torch.inference_mode():
            for start in range(0, len(missing), self.batch_size):
                chunk = missing[start : start + self.batch_size]
                tokens = self._tokens([self.texts[item] for item in chunk])
                hidden = self.bert.embeddings(input_ids=tokens["input_ids"], token_type_ids=tokens.get("token_type_ids"))
                hidden = self._run_layers(hidden, tokens["attention_mask"], self.bert.encoder.layer[: self.n_lower])
                for row, item in enumerate(chunk):
                    length = int(tokens["attention_mask"][row].sum())
                    self.states[item] = hidden[row, :length].float().clone()
                if progress is not None:
                    progress(min(start + self.batch_size, len(missing)), len(missing))

    def upper_embeddings(self, items: np.ndarray):
        """(len(items), dim) unit embeddings through the top layers, with gradients when they train."""
        import torch

        self.fill(items)
        states = [self.states[int(item)] for item in items]
        lengths = torch.as_tensor([len(state) for state in states], device=self.encoder.device)
        hidden = torch.nn.utils.rnn.pad_sequence(states, batch_first=True)
        mask = (torch.arange(hidden.shape[1], device=hidden.device)[None, :] < lengths[:, None]).long()
        hidden = self._run_layers(hidden, mask, self.bert.encoder.layer[self.n_lower :])
        return mean_pool(hidden, mask)

    def encode(self, items: np.ndarray | None = None) -> np.ndarray:
        """Embeds items through the current top layers, without gradients.

        Args:
            items: item indices; all texts when None.

        Returns:
            float32 array (len(items), dim) with unit-norm rows.
        """
        import torch

        items = np.arange(len(self.texts)) if items is None else np.asarray(items, dtype=np.int64)
        embeddings = np.zeros((len(items), self.encoder.dim), dtype=np.float32)
        order = np.argsort([len(self.texts[item]) for item in items], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(items), self.batch_size):
                rows = order[start : start + self.batch_size]
                embeddings[rows] = self.upper_embeddings(items[rows]).cpu().numpy()
        return embeddings

    def _tokens(self, texts: list[str]):
        return self.encoder.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.encoder.device)

    @staticmethod
    def _run_layers(hidden, attention_mask, layers):
        # An additive mask (0 to attend, the dtype's minimum to ignore) is what
        # BERT's eager and SDPA attention both accept.
        import torch

        additive = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in layers:
            output = layer(hidden, additive)
            hidden = output[0] if isinstance(output, tuple) else output
        return hidden


def _bert_of(model):
    """The BERT-style module under a possible peft wrapper: it must have embeddings and encoder.layer."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not (hasattr(base, "embeddings") and hasattr(getattr(base, "encoder", None), "layer")):
        raise ValueError("top_layers needs a BERT-style encoder (embeddings + encoder.layer)")
    return base
