"""The encoder left frozen, its vectors adapted: whitening fitted on the shop's catalog, then a residual linear
map trained on co-engaged pairs (the adapter mode of a fine-tuning run).

Frozen sentence vectors crowd into a narrow cone, where a few directions every title shares dominate the
cosine; whitening (WhitenRec, arXiv 2402.10602) spreads them so that the directions that tell one product
from another count. The linear map, starting at the identity, then pulls together what the shop's shoppers
buy together (UniSRec, KDD 2022, learns such an adapter over frozen BERT vectors). Both work on vectors
computed once per item, so a run takes seconds to minutes on a CPU, and a new item is adapted the moment
the encoder embeds its text.
"""

from collections.abc import Callable

import numpy as np

from recommender.ml.ann import unit_rows
from recommender.ml.nets.text_finetune.config import FineTuneConfig
from recommender.ml.nets.text_finetune.training import Progress, pairs_train


class VectorAdapter:
    """(frozen vectors - mean) @ whitening, normalised, plus that times `weight`; normalised again.

    Attributes:
        mean: (d,) the catalog's mean frozen vector.
        whitening: (d, d) ZCA whitening matrix of the catalog's frozen vectors.
        weight: (d, d) the residual map; zeros is whitening alone.
    """

    def __init__(self, mean: np.ndarray, whitening: np.ndarray, weight: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)
        self.whitening = np.asarray(whitening, dtype=np.float32)
        self.weight = np.asarray(weight, dtype=np.float32)

    @classmethod
    def whitening_fit(cls, vectors: np.ndarray, eps: float) -> "VectorAdapter":
        """Whitening alone, fitted on `vectors` (every item of the catalog: new items' texts are known)."""
        vectors = np.asarray(vectors, dtype=np.float64)
        mean = vectors.mean(axis=0)
        centred = vectors - mean
        variances, directions = np.linalg.eigh(centred.T @ centred / max(len(vectors), 1))
        whitening = directions @ np.diag(1.0 / np.sqrt(np.maximum(variances, 0.0) + eps)) @ directions.T
        return cls(mean, whitening, np.zeros_like(whitening))

    def whitened(self, vectors: np.ndarray) -> np.ndarray:
        return unit_rows((np.asarray(vectors, dtype=np.float32) - self.mean) @ self.whitening)

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """(n, d) L2-normalised adapted vectors of (n, d) frozen ones."""
        whitened = self.whitened(vectors)
        return unit_rows(whitened + whitened @ self.weight.T)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "whitening": self.whitening, "weight": self.weight}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "VectorAdapter":
        return cls(arrays["mean"], arrays["whitening"], arrays["weight"])


def vector_adapter_train(
    frozen: np.ndarray, pairs: np.ndarray, config: FineTuneConfig, device: str = "cpu", progress: Progress | None = None
) -> tuple[VectorAdapter, dict]:
    """Fits the whitening on every item's frozen vector, then trains the residual map on `pairs`.

    Args:
        frozen: (n_items, d) the base encoder's vectors of every item.
        pairs: (n, 2) co-engaged item indices.
        config: the run's settings (batch size, learning rate, temperature, epochs, time limit, whitening_eps).
        device: torch device.
        progress: called with (fraction done, message).

    Returns:
        The adapter and the history of the training loop.
    """
    import torch

    whitening = VectorAdapter.whitening_fit(frozen, config.whitening_eps)
    torch.manual_seed(config.seed)
    inputs = torch.from_numpy(whitening.whitened(frozen)).to(device)
    residual = torch.nn.Linear(inputs.shape[1], inputs.shape[1], bias=False).to(device)
    torch.nn.init.zeros_(residual.weight)  # the identity: training starts from whitening alone

    def embed(items: np.ndarray):
        batch = inputs[torch.as_tensor(items, device=device)]
        return torch.nn.functional.normalize(batch + residual(batch), dim=1)

    history = pairs_train(embed, list(residual.parameters()), pairs, config, device=device, progress=progress)
    weight = residual.weight.detach().cpu().numpy()
    return VectorAdapter(whitening.mean, whitening.whitening, weight), history


class AdaptedEncoder:
    """The base encoder, then the adapter: what embeds a shop's items and queries once its adapter serves."""

    def __init__(self, encoder, adapter: VectorAdapter) -> None:
        self.encoder = encoder
        self.adapter = adapter
        self.model_path = encoder.model_path
        self.max_length = encoder.max_length
        self.batch_size = encoder.batch_size

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        return self.adapter.transform(self.encoder.encode(texts, progress=progress))
