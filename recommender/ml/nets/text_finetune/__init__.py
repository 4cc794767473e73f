"""Contrastive fine-tuning of the item text encoder on co-engagement, with LoRA or in full, or of its frozen
vectors (the vector adapter: whitening and a residual map).

Items that shoppers engage with one after another are pulled together in
embedding space and the other items of the batch pushed apart (InfoNCE with
in-batch negatives). The encoder then places a brand-new item, known only by
its text, near the items it will be bought with, not only near the items whose
words it shares.

torch, transformers and peft are imported inside the functions, so importing
this module stays cheap for the web process.
"""

from recommender.ml.nets.text_finetune.artifact import load_fine_tuned, save_adapter
from recommender.ml.nets.text_finetune.config import (
    ADAPTER,
    CPU_TOP_LAYERS,
    MIN_STEPS,
    MODES,
    FineTuneConfig,
    config_for_device,
)
from recommender.ml.nets.text_finetune.layer_cache import LowerLayerCache
from recommender.ml.nets.text_finetune.pairs import co_engaged_pairs
from recommender.ml.nets.text_finetune.pipeline import fine_tune_and_embed
from recommender.ml.nets.text_finetune.training import fine_tune_encoder

__all__ = [
    "ADAPTER",
    "CPU_TOP_LAYERS",
    "MIN_STEPS",
    "MODES",
    "FineTuneConfig",
    "LowerLayerCache",
    "co_engaged_pairs",
    "config_for_device",
    "fine_tune_and_embed",
    "fine_tune_encoder",
    "load_fine_tuned",
    "save_adapter",
]
