"""A whole run: every item embedded by the base encoder, the fine-tune (or the vector adapter), every item
embedded again."""

import time
from dataclasses import dataclass, field

import numpy as np

from recommender.ml.nets.text_encoder import TextEncoder
from recommender.ml.nets.text_finetune.config import ADAPTER, FineTuneConfig
from recommender.ml.nets.text_finetune.layer_cache import LowerLayerCache
from recommender.ml.nets.text_finetune.training import Progress, fine_tune_encoder
from recommender.ml.nets.text_finetune.vector_adapter import AdaptedEncoder, vector_adapter_train


@dataclass
class FineTuned:
    """A fine-tuned encoder with every item embedded before and after the fine-tune.

    Attributes:
        encoder: the fine-tuned encoder, in eval mode.
        config: the run's settings.
        frozen: (n_items, dim) embeddings by the base encoder.
        tuned: (n_items, dim) embeddings by the fine-tuned encoder.
        history: what the training loop returned, with "pairs" (the number trained on).
        items_per_s: items embedded per second in the final pass (lower layers included); None when the run
            embedded nothing (an adapter given the frozen vectors).
        stages: vectors of the steps between frozen and tuned, by name (the adapter's whitening alone),
            evaluated beside them.
    """

    encoder: TextEncoder | AdaptedEncoder
    config: FineTuneConfig
    frozen: np.ndarray
    tuned: np.ndarray
    history: dict
    items_per_s: float | None
    stages: dict[str, np.ndarray] = field(default_factory=dict)


# Shares of the progress bar: the base embedding, the fine-tune, the final embedding.
PHASES = (0.15, 0.7, 0.15)


def fine_tune_and_embed(
    texts: list[str],
    pairs: np.ndarray,
    config: FineTuneConfig,
    device: str = "cpu",
    model_path: str | None = None,
    progress: Progress | None = None,
    frozen: np.ndarray | None = None,
) -> FineTuned:
    """Embeds every item with the base encoder, fine-tunes it on `pairs`, and embeds every item again.

    With ``config.top_layers`` the frozen lower layers run once per item and
    both passes only run the top layers over their cached output. In adapter mode
    the encoder stays as it is: the adapter is trained on the frozen vectors and
    maps them (see vector_adapter).

    Args:
        texts: per item index, the item's text.
        pairs: (n, 2) co-engaged item indices, e.g. from :func:`co_engaged_pairs`.
        config: the run's settings.
        device: torch device.
        model_path: the base model folder; the shipped MiniLM when None.
        progress: called with (fraction done, message).
        frozen: the base encoder's vectors of `texts`, when already computed (adapter mode).

    Returns:
        The encoder and both sets of embeddings.
    """
    report = progress or (lambda fraction, message: None)
    encoder = TextEncoder(model_path=model_path, device=device, max_length=config.max_length)
    if config.mode == ADAPTER:
        return _adapt_and_embed(encoder, texts, pairs, config, device, report, frozen)
    cache = None
    lower_s = 0.0
    started = time.perf_counter()
    if config.top_layers is not None:
        cache = LowerLayerCache(encoder, texts, config.top_layers, max_length=config.max_length)
        cache.fill(np.arange(len(texts)), progress=lambda done, total: report(PHASES[0] * done / max(total, 1), f"lower layers {done}/{total}"))
        lower_s = time.perf_counter() - started
        frozen = cache.encode()
    else:
        frozen = _embedded(encoder, texts, report, start=0.0, share=PHASES[0])
    history = fine_tune_encoder(
        encoder, texts, pairs, config, device=device, cache=cache,
        progress=lambda fraction, message: report(PHASES[0] + PHASES[1] * fraction, message),
    )
    history["pairs"] = int(len(pairs))
    done = PHASES[0] + PHASES[1]
    started = time.perf_counter()
    if cache is not None:
        tuned = cache.encode()
    else:
        tuned = _embedded(encoder, texts, report, start=done, share=PHASES[2])
    report(1.0, f"embedded {len(texts)} items")
    items_per_s = len(texts) / max(lower_s + time.perf_counter() - started, 1e-9)
    return FineTuned(encoder, config, frozen, tuned, history, items_per_s)


def _adapt_and_embed(
    encoder: TextEncoder, texts: list[str], pairs: np.ndarray, config: FineTuneConfig, device: str, report: Progress,
    frozen: np.ndarray | None,
) -> FineTuned:
    items_per_s = None  # given the frozen vectors, this run embeds nothing
    if frozen is None:
        started = time.perf_counter()
        frozen = _embedded(encoder, texts, report, start=0.0, share=PHASES[0])
        items_per_s = len(texts) / max(time.perf_counter() - started, 1e-9)
    adapter, history = vector_adapter_train(
        frozen, pairs, config, device=device,
        progress=lambda fraction, message: report(PHASES[0] + (1 - PHASES[0]) * fraction, message),
    )
    history["pairs"] = int(len(pairs))
    report(1.0, f"adapted {len(texts)} items")
    return FineTuned(
        AdaptedEncoder(encoder, adapter), config, frozen, adapter.transform(frozen), history, items_per_s,
        stages={"whitened": adapter.whitened(frozen)},
    )


def _embedded(encoder: TextEncoder, texts: list[str], report: Progress, *, start: float, share: float) -> np.ndarray:
    """Every text embedded, the progress bar moving from `start` over `share` of the run."""
    return encoder.encode(texts, progress=lambda done, total: report(start + share * done / total, f"embedded {done}/{total} items"))
