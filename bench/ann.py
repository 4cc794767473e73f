"""Approximate nearest neighbours (`recommender.ml.ann`, the index a large shop's similar items are searched in)
against an exact scan, in the same run: recall@10 and the time of one query, at several catalog sizes.

The vectors are MiniLM's of the demo's 12k item texts (computed once and cached in .data/bench); a larger catalog
is made of variants of them (each a demo vector plus a little noise, normalised), so it keeps the clusters of
real item texts. Each query is an item's own vector, the item left out of both answers, as similar items asks.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from recommender.ml.ann import ann_build, ann_open, ann_search, graph_for
from recommender.ml.topk import top_indices

from .common import BenchResult, dataset_missing, percentile
from .common.datasets import DEMO_DATA, beauty_load, embeddings_cached

NAME = "ann"
TARGET_RECALL = 0.95
K = 10
NOISE = 0.02  # per dimension: a variant stays near its demo item, as a new edition's text does


def arguments_parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench ann")
    parser.add_argument("--sizes", default="12101,100000", help="catalog sizes, comma-separated (1000000 takes about an hour here)")
    parser.add_argument("--queries", type=int, default=200)
    return parser.parse_args(argv)


def _catalog(base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if size <= len(base):
        return base[:size]
    variants = base[rng.integers(0, len(base), size - len(base))] + NOISE * rng.standard_normal((size - len(base), base.shape[1]))
    vectors = np.vstack([base, variants.astype(np.float32)])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, query: np.ndarray, leave_out: int) -> list[int]:
    return top_indices(vectors @ query, K, exclude=[leave_out]).tolist()


def _size_row(vectors: np.ndarray, queries: np.ndarray) -> dict:
    started = time.perf_counter()
    built = ann_build(np.arange(len(vectors)), vectors, threads=os.cpu_count() or 1)
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.usearch"
        built.save(str(path))
        del built
        # Searched as served: saved by the worker, mapped from its file by the web process.
        index = ann_open(path)
        found, ann_ms, exact_ms = 0, [], []
        for row in queries.tolist():
            started = time.perf_counter()
            approximate = [key for key, _ in ann_search(index, vectors[row], K + 1) if key != row][:K]
            ann_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            exact = _exact(vectors, vectors[row], row)
            exact_ms.append((time.perf_counter() - started) * 1000)
            found += len(set(approximate) & set(exact))
        graph, file_mib = graph_for(len(vectors)), path.stat().st_size / 2**20
        del index
    return {
        "items": len(vectors), "graph degree": graph.connectivity, "build breadth": graph.expansion_add,
        "search breadth": graph.expansion_search, "recall@10": round(found / (K * len(queries)), 4),
        "build s": round(build_s, 1), "index MiB": round(file_mib), "ANN query p50 ms": round(percentile(ann_ms, 50), 3),
        "exact scan p50 ms": round(percentile(exact_ms, 50), 3),
        "speed-up": round(percentile(exact_ms, 50) / percentile(ann_ms, 50), 1),
    }


def run(argv: list[str]) -> BenchResult:
    options = arguments_parse(argv)
    missing = dataset_missing(DEMO_DATA)
    if missing:
        return BenchResult(NAME, skipped=missing)
    base, _ = embeddings_cached(beauty_load(DEMO_DATA).item_texts, "cpu")
    base = base / np.linalg.norm(base, axis=1, keepdims=True)
    rng = np.random.default_rng(0)
    rows = []
    for size in [int(size) for size in options.sizes.split(",")]:
        vectors = _catalog(base, size, rng)
        rows.append(_size_row(vectors, rng.choice(len(vectors), options.queries, replace=False)))
        print(f"  {rows[-1]}")
    return BenchResult(
        NAME, rows=rows,
        metrics={f"recall_at_10_{row['items']}": row["recall@10"] for row in rows},
        notes=[
            f"Target: recall@10 ≥ {TARGET_RECALL} where the index is used (VITRINE_ANN_MIN_ITEMS, 50,000 by default); "
            f"{options.queries} queries per size; build on {os.cpu_count()} threads; one query at a time, one thread.",
        ],
    )
