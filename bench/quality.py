"""Offline quality on Amazon Beauty: every family beside popularity, same split, full-catalog ranking.

With the tuned encoder (family finetuned_text: the vector adapter on a CPU, LoRA on a GPU) in the run, the
text and sequential models are fitted twice, on frozen and on tuned text vectors, and the encoder's
cold-start figures (items held out of its training entirely) are reported beside. Every row also gives NDCG@10 for shoppers known by only their
last one or two events.
"""

import argparse
from itertools import product
from pathlib import Path

import numpy as np

from recommender.ml.blend import PERSONAL_BLEND, RANK_DAMPING, Blend
from recommender.ml.device import pick_device
from recommender.ml.trainer import (
    FINETUNED_TEXT,
    MF,
    POPULARITY,
    SEQUENTIAL,
    TEXT,
    Budget,
    evaluate,
    evaluate_new_shoppers,
    fit_family,
    prepare,
)

from .common import BenchResult, dataset_result
from .common.coldstart import cold_start_note, cold_start_verdict
from .common.datasets import DEMO_DATA, beauty_load, embeddings_cached

# Full-ranking figures on this exact dataset and protocol (S3-Rec repository, CIKM 2020; DIF-SR, SIGIR 2022).
PUBLISHED = [
    {"model": "PopRec (published)", "hr_10": 0.0152, "ndcg_10": 0.0068},
    {"model": "SASRec (published)", "hr_10": 0.0605, "ndcg_10": 0.0318},
    {"model": "S3-Rec (published)", "hr_10": 0.0647, "ndcg_10": 0.0327},
    {"model": "DIF-SR (published)", "hr_10": None, "ndcg_10": 0.0446},
]
METRICS = ("hr_10", "ndcg_10", "recall_20", "ndcg_20", "mrr", "precision_10", "coverage", "ild", "distinct_categories", "novelty")
# The encoder is tuned before the text and sequential models, which are then fitted on its vectors too.
DEFAULT_FAMILIES = [POPULARITY, MF, FINETUNED_TEXT, TEXT, SEQUENTIAL]
TUNED = {TEXT: "text, tuned vectors", SEQUENTIAL: "sequential, tuned vectors"}


def runs(families: list[str], sequential_inputs: bool = False) -> list[tuple[str, str, dict, str | None]]:
    """(label, family, hyper-parameters, text vectors it fits on: "frozen", "tuned" or None) to fit. The dataset's times
    are synthetic (a day per review), so popularity also runs without decay, as PopRec does, and the stronger
    of the two is the baseline. With the tuned encoder, the text and sequential models also run on its vectors
    (TUNED); `sequential_inputs` adds the sequential model on ids alone and on tuned text alone (no id vectors:
    the inductive form, which scores every item as it scores a new one)."""
    plan = [(family, family, {}, "frozen") for family in families]
    if POPULARITY in families:
        plan.insert(families.index(POPULARITY) + 1, ("popularity, all-time (PopRec)", POPULARITY, {"half_life_days": 1e9}, "frozen"))
    for family, label in TUNED.items():
        if FINETUNED_TEXT in families and family in families:
            if families.index(FINETUNED_TEXT) > families.index(family):
                raise ValueError(f"name finetuned_text before {family}: it reads the tuned vectors")
            plan.append((label, family, {}, "tuned"))
    if sequential_inputs and SEQUENTIAL in families:
        plan.append(("sequential, ids only", SEQUENTIAL, {}, None))
        if FINETUNED_TEXT in families:
            plan.append(("sequential, tuned text only", SEQUENTIAL, {"fuse": "text"}, "tuned"))
    return plan


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench quality")
    parser.add_argument("--data", type=Path, default=DEMO_DATA)
    parser.add_argument("--families", default=",".join(DEFAULT_FAMILIES))
    parser.add_argument("--time-limit", type=float, default=None, help="seconds of sequential-model training and of the encoder fine-tune")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--sequential-inputs", action="store_true", help="also fit the sequential model on ids alone and on tuned text alone")
    parser.add_argument("--blend", action="append", type=_blend_weights, default=[], metavar="FAMILY=WEIGHT,…",
                        help="also rank the fitted families blended with these weights (repeatable); the product's "
                             "default blend is always ranked")
    parser.add_argument("--damping", action="append", type=float, default=[], metavar="D",
                        help="rank every blend with this rank damping too (repeatable; the product's is "
                             f"{RANK_DAMPING:g}, recommender.ml.blend)")
    parser.add_argument("--validation", action="store_true",
                        help="rank every shopper's one-before-last event instead of the last (choose blends and "
                             "settings here, then report them on the test targets)")
    return parser.parse_args(argv)


def _blend_weights(text: str) -> dict[str, float]:
    try:
        weights = {family.strip(): float(weight) for family, weight in (part.split("=") for part in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write family=weight pairs, comma-separated (sequential=0.7,text=0.3)")
    if not weights or min(weights.values()) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: every weight must be above 0")
    return weights


def _blend_label(weights: dict[str, float], damping: float = RANK_DAMPING) -> str:
    label = "Picked for you, composed: " + ", ".join(f"{family} {weight:g}" for family, weight in weights.items())
    return label if damping == RANK_DAMPING else f"{label}; rank damping {damping:g}"


def blended(weights: dict[str, float], fitted: dict[str, tuple[str, object]], damping: float = RANK_DAMPING) -> Blend | None:
    """The fitted families ranked as the page's first rail blends them (on tuned vectors where the run has them,
    as the product serves them once promoted); None where a family named is not fitted in this run."""
    parts = []
    for family, weight in weights.items():
        label = TUNED.get(family) if TUNED.get(family) in fitted else family
        if label not in fitted:
            return None
        parts.append((fitted[label][0], fitted[label][1], weight / sum(weights.values())))
    return Blend(parts, damping)


def _row(
    label: str, family: str, model, prepared, embeddings, new_baseline: dict, baseline: float, validation: bool
) -> dict:
    """One table row: the model's metrics on all shoppers and on shoppers known by one or two events."""
    report = evaluate(family, model, prepared, text_embeddings=embeddings, validation=validation).as_dict()
    new_shoppers = evaluate_new_shoppers(family, model, prepared, text_embeddings=embeddings, validation=validation)
    row = {"model": label, **{metric: report[metric] for metric in METRICS}}
    for length, figures in new_shoppers.items():
        row[f"ndcg_10_{length}"] = figures["ndcg_10"]
        comparable = new_baseline.get(f"ndcg_10_{length}") and family != POPULARITY
        row[f"x_popularity_{length}"] = round(figures["ndcg_10"] / new_baseline[f"ndcg_10_{length}"], 2) if comparable else None
    if baseline and family != POPULARITY:
        row["x_popularity"] = round(report["ndcg_10"] / baseline, 2)
    return row


def run(argv: list[str]) -> BenchResult:
    options = arguments(argv)
    result = dataset_result("quality", options.data)
    if result.skipped:
        return result
    device = pick_device(options.device)
    data = beauty_load(options.data)
    prepared = prepare(data)
    embeddings, rate = embeddings_cached(data.item_texts, device)
    if rate == rate:
        result.notes.append(f"Text encoder: {rate:.0f} items/s on {device}.")
    budget = Budget(device=device, time_limit_s=options.time_limit, max_epochs=options.max_epochs)
    baseline, new_baseline, tuned, fitted_by_label = 0.0, {}, None, {}
    for label, family, overrides, inputs in runs(options.families.split(","), options.sequential_inputs):
        print(f"fitting {label} …", flush=True)
        vectors = {"frozen": embeddings, "tuned": tuned.model.tuned if tuned else None, None: None}[inputs]
        fitted = fit_family(family, prepared, budget, text_embeddings=vectors, **overrides)
        fitted_by_label[label] = (family, fitted.model)
        # Every row's diversity is measured on the same (frozen) vectors.
        row = _row(label, family, fitted.model, prepared, embeddings, new_baseline, baseline, options.validation)
        if family == POPULARITY:
            baseline = max(baseline, row["ndcg_10"])
            new_baseline = {key: max(new_baseline.get(key, 0.0), value) for key, value in row.items() if key.startswith("ndcg_10_")}
        row |= {"train_s": round(fitted.seconds, 1), "device": device}
        if family == SEQUENTIAL:
            history = fitted.history
            row["epochs"] = history.get("epochs")
            result.notes.append(
                f"{label}: {history.get('epochs')} epochs, best {history.get('best_epoch')}, "
                f"{np.mean(history.get('seconds_per_epoch') or [0]):.1f} s/epoch, stopped by {history.get('stopped_by')}."
            )
        if family == FINETUNED_TEXT:

            tuned = fitted
            cold = fitted.metrics["cold_start"]
            gain, _ = cold_start_verdict(cold)
            result.metrics |= {"cold_ndcg_10_frozen": cold["frozen"]["ndcg_10"], "cold_ndcg_10_fine_tuned": cold["fine_tuned"]["ndcg_10"], "cold_relative_gain": gain}
            result.notes.append(cold_start_note(cold, fitted.history))
        result.rows.append(row)
    if options.validation:
        result.notes.append("Every row ranks the validation targets (each shopper's one-before-last event), not the test targets.")
    for weights, damping in product([PERSONAL_BLEND, *options.blend], dict.fromkeys([RANK_DAMPING, *options.damping])):
        label = _blend_label(weights, damping)
        blend = blended(weights, fitted_by_label, damping)
        if blend is None:
            result.notes.append(f"{label}: not ranked, a family it names is not fitted in this run.")
            continue
        print(f"ranking {label} …", flush=True)
        result.rows.append(_row(label, "blend", blend, prepared, embeddings, new_baseline, baseline, options.validation))
    ndcg = {row["model"]: row["ndcg_10"] for row in result.rows}
    for family, label in TUNED.items():
        if family in ndcg and label in ndcg:
            result.metrics[f"{family}_tuned_over_frozen"] = ndcg[label] / ndcg[family] - 1.0
    result.rows += PUBLISHED
    return result
