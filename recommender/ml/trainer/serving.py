"""What a worker runs online with a loaded model: item texts embedded, one shopper's current sequence scored."""

import functools
from pathlib import Path

import numpy as np

from recommender.ml.trainer.families import MF, POPULARITY, SEQUENTIAL
from recommender.ml.trainer.progress import Progress, quiet


@functools.lru_cache(maxsize=2)
def _encoder_loaded(model_path: str | None, device: str, fine_tuned: Path | None):
    # Kept loaded: a worker embedding the upserts of a busy catalog encodes a batch every few seconds.
    from recommender.ml.nets.text_encoder import TextEncoder

    if fine_tuned is not None:
        from recommender.ml.nets.text_finetune import load_fine_tuned

        return load_fine_tuned(fine_tuned, device=device)
    return TextEncoder(model_path=model_path, device=device)


def embed_items(
    texts: list[str], model_path: str | None, device: str, progress: Progress = quiet, fine_tuned: Path | None = None
) -> np.ndarray:
    """Embeds texts with the base model at `model_path`, or with the fine-tuned encoder saved in `fine_tuned`."""
    encoder = _encoder_loaded(model_path, device, fine_tuned)
    return encoder.encode(texts, progress=lambda done, total: progress(done / max(total, 1), f"embedded {done}/{total} items"))


def score_history(family: str, model, items: np.ndarray, types: np.ndarray, new_vectors: np.ndarray | None = None) -> np.ndarray:
    """(n_items,) scores for one shopper's current sequence, read online: a fresh event counts at once.

    Args:
        family: the model's family.
        model: a fitted model of that family.
        items: item indices of the shopper's events, oldest first.
        types: event type codes aligned with `items`.
        new_vectors: text vectors of items outside the model's catalog; the sequential model scores them after
            its own (see SASRecModel.score), the other families ignore them.

    Returns:
        One score per catalog item (and per new vector, for the sequential model).
    """
    if family == SEQUENTIAL:
        return model.score([items], [types], new_vectors=new_vectors if model.reads_text else None)[0]
    if family == MF:
        if len(items) == 0:
            return np.zeros(model.item_factors.shape[0], dtype=np.float32)
        return (model.fold_in([items]) @ model.item_factors.T)[0]
    if family == POPULARITY:
        return np.asarray(model.score(), dtype=np.float32)
    return model.score_users(np.zeros(1, np.int64), [items])[0]
