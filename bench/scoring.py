"""Online scoring latency: one shopper's current sequence through each family, on the CPU, at the demo catalog size."""

import argparse
import time
from pathlib import Path

import numpy as np

from recommender.ml.trainer import FAMILIES, POPULARITY, Budget, fit_family, prepare, score_history

from .common import BenchResult, dataset_result, percentile
from .common.datasets import DEMO_DATA, beauty_load, embeddings_cached

TOP_K = 200


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench scoring")
    parser.add_argument("--data", type=Path, default=DEMO_DATA)
    parser.add_argument("--shoppers", type=int, default=2000, help="shoppers scored one at a time")
    parser.add_argument("--train-seconds", type=float, default=60.0, help="sequential training before timing")
    return parser.parse_args(argv)


def _time_family(family: str, model, histories, types) -> list[float]:
    timings = []
    for items, kinds in zip(histories, types):
        started = time.perf_counter()
        scores = score_history(family, model, items, kinds)
        np.argpartition(-scores, TOP_K)[:TOP_K]
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def run(argv: list[str]) -> BenchResult:
    import torch

    options = arguments(argv)
    result = dataset_result("scoring", options.data)
    if result.skipped:
        return result
    torch.set_num_threads(1)  # as the web process serves: one thread a request
    data = beauty_load(options.data)
    prepared = prepare(data)
    embeddings, _ = embeddings_cached(data.item_texts, "cpu")
    budget = Budget(device="cpu", time_limit_s=options.train_seconds)
    split = prepared.split
    rng = np.random.default_rng(7)
    chosen = rng.choice(len(split.test_history), size=min(options.shoppers, len(split.test_history)), replace=False)
    histories = [split.test_history[user][-50:] for user in chosen]
    types = [split.test_history_types[user][-50:] for user in chosen]
    baseline = None
    for family in FAMILIES:
        model = fit_family(family, prepared, budget, text_embeddings=embeddings).model
        _time_family(family, model, histories[:50], types[:50])  # warm-up
        timings = _time_family(family, model, histories, types)
        p50 = percentile(timings, 50)
        baseline = p50 if family == POPULARITY else baseline
        result.rows.append(
            {
                "family": family,
                "p50_ms": round(p50, 3),
                "p99_ms": round(percentile(timings, 99), 3),
                "max_ms": round(max(timings), 3),
                "x_popularity_p50": round(p50 / baseline, 1),
            }
        )
    result.notes.append(
        f"{len(histories)} shoppers, one at a time, histories of up to 50 events, {prepared.n_items:,} items, "
        f"scores for the whole catalog then the top {TOP_K}; torch on 1 thread."
    )
    return result
