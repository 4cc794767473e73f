"""A whole run: every item embedded by the base encoder, the fine-tune, every item embedded again."""

import time
from dataclasses import dataclass

import numpy as np

from recommender.ml.nets.text_encoder import TextEncoder
from recommender.ml.nets.text_finetune.config import FineTuneConfig
from recommender.ml.nets.text_finetune.layer_cache import LowerLayerCache
from recommender.ml.nets.text_finetune.training import Progress, fine_tune_encoder


@dataclass
class FineTuned:
    """A fine-tuned encoder with every item embedded before and after the fine-tune.

    Attributes:
        encoder: the fine-tuned encoder, in eval mode.
        config: the run's settings.
        frozen: (n_items, dim) embeddings by the base encoder.
        tuned: (n_items, dim) embeddings by the fine-tuned encoder.
        history: what :func:`fine_tune_encoder` returned, with "pairs" (the number trained on).
        items_per_s: items embedded per second in the final pass (lower layers included).
    """

    encoder: TextEncoder
    config: FineTuneConfig
    frozen: np.ndarray
    tuned: np.ndarray
    history: dict
    items_per_s: float


# Shares of the progress bar: the base embedding, the fine-tune, the final embedding.
PHASES = (0.15, 0.7, 0.15)


def fine_tune_and_embed(
    texts: list[str],
    pairs: np.ndarray,
    config: FineTuneConfig,
    device: str = "cpu",
    model_path: str | None = None,
    progress: Progress | None = None,
) -> FineTuned:
    """Embeds every item with the base encoder, fine-tunes it on `pairs`, and embeds every item again.

    With ``config.top_layers`` the frozen lower layers run once per item and
    both passes only run the top layers over their cached output.

    Args:
        texts: per item index, the item's text.
        pairs: (n, 2) co-engaged item indices, e.g. from :func:`co_engaged_pairs`.
        config: the run's settings.
        device: torch device.
        model_path: the base model folder; the shipped MiniLM when None.
        progress: called with (fraction done, message).

    Returns:
        The encoder and both sets of embeddings.
    """
    report = progress or (lambda fraction, message: None)
    encoder = TextEncoder(model_path=model_path, device=device, max_length=config.max_length)
    cache = None
    lower_s = 0.0
    started = time.perf_counter()
    if config.top_layers is not None:
        cache = LowerLayerCache(encoder, texts, config.top_layers, max_length=config.max_length)
        cache.fill(np.arange(len(texts)), progress=lambda done, total: report(PHASES[0] * done / max(total, 1), f"lower layers {done}/{total}"))
        lower_s = time.perf_counter() - started
        frozen = cache.encode()
    else:
        frozen = encoder.encode(texts, progress=lambda done, total: report(PHASES[0] * done / total, f"embedded {done}/{total} items"))
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
        tuned = encoder.encode(texts, progress=lambda count, total: report(done + PHASES[2] * count / total, f"embedded {count}/{total} items"))
    report(1.0, f"embedded {len(texts)} items")
    items_per_s = len(texts) / max(lower_s + time.perf_counter() - started, 1e-9)
    return FineTuned(encoder, config, frozen, tuned, history, items_per_s)
