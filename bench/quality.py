"""Offline quality on Amazon Beauty: every family beside popularity, same split, full-catalog ranking.

With the tuned encoder (family finetuned_text: the vector adapter on a CPU, LoRA on a GPU) in the run, the
text and sequential models are fitted twice, on frozen and on tuned text vectors, and the encoder's
cold-start figures (items held out of its training entirely) are reported beside. Every row also gives NDCG@10 for shoppers known by only their
last one or two events.
"""

import argparse
from pathlib import Path

import numpy as np

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
    return parser.parse_args(argv)


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
    baseline, new_baseline, tuned = 0.0, {}, None
    for label, family, overrides, inputs in runs(options.families.split(","), options.sequential_inputs):
        print(f"fitting {label} …", flush=True)
        vectors = {"frozen": embeddings, "tuned": tuned.model.tuned if tuned else None, None: None}[inputs]
        fitted = fit_family(family, prepared, budget, text_embeddings=vectors, **overrides)
        # Every row's diversity is measured on the same (frozen) vectors.
        report = evaluate(family, fitted.model, prepared, text_embeddings=embeddings).as_dict()
        new_shoppers = evaluate_new_shoppers(family, fitted.model, prepared, text_embeddings=embeddings)
        if family == POPULARITY:
            baseline = max(baseline, report["ndcg_10"])
            new_baseline = {length: max(new_baseline.get(length, 0.0), figures["ndcg_10"]) for length, figures in new_shoppers.items()}
        row = {"model": label, **{metric: report[metric] for metric in METRICS}}
        for length, figures in new_shoppers.items():
            row[f"ndcg_10_{length}"] = figures["ndcg_10"]
            comparable = new_baseline.get(length) and family != POPULARITY
            row[f"x_popularity_{length}"] = round(figures["ndcg_10"] / new_baseline[length], 2) if comparable else None
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
        if baseline and family != POPULARITY:
            row["x_popularity"] = round(report["ndcg_10"] / baseline, 2)
        result.rows.append(row)
    ndcg = {row["model"]: row["ndcg_10"] for row in result.rows}
    for family, label in TUNED.items():
        if family in ndcg and label in ndcg:
            result.metrics[f"{family}_tuned_over_frozen"] = ndcg[label] / ndcg[family] - 1.0
    result.rows += PUBLISHED
    return result
