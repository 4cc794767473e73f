"""Fit, evaluate, save and load every model family on arrays; the Celery task and the benchmark share it.

Each run splits each shopper's sequence leave-last-out: the model is fitted on all but the last
two events, early-stopped on the second to last and evaluated on the last, ranking the whole
catalog. The evaluated model is the one that serves: at serving time it reads the shopper's
full, current sequence.
"""

from recommender.ml.trainer.artifacts import load_model, save_model
from recommender.ml.trainer.evaluating import evaluate, evaluate_new_shoppers
from recommender.ml.trainer.families import FAMILIES, FINETUNED_TEXT, MF, POPULARITY, SEQUENTIAL, TEXT
from recommender.ml.trainer.fitting import Budget, fit_family
from recommender.ml.trainer.serving import embed_items, score_history
from recommender.ml.trainer.shop import EVENT_TYPE_CODES, ShopData, prepare

__all__ = [
    "EVENT_TYPE_CODES",
    "FAMILIES",
    "FINETUNED_TEXT",
    "MF",
    "POPULARITY",
    "SEQUENTIAL",
    "TEXT",
    "Budget",
    "ShopData",
    "embed_items",
    "evaluate",
    "evaluate_new_shoppers",
    "fit_family",
    "load_model",
    "prepare",
    "save_model",
    "score_history",
]
