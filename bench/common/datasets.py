"""The demo dataset (Amazon Beauty 5-core, read from ../shared or VITRINE_DEMO_DATA), as the benchmarks load it."""

import csv
import hashlib
import os
import time
from pathlib import Path

import numpy as np

from recommender.ml.data import Interactions, top_category_codes
from recommender.ml.nets.text_encoder import item_text
from recommender.ml.trainer import EVENT_TYPE_CODES, ShopData, embed_items

from . import BENCH_DATA_DIR, REPO_DIR

DEMO_DATA = Path(os.environ.get("VITRINE_DEMO_DATA") or REPO_DIR.parent / "shared" / "datasets" / "amazon_beauty_5core")
CACHE = BENCH_DATA_DIR


def beauty_items(path: Path) -> list[dict]:
    """The dataset's items, in item-index order: item_id, title, brand ("" for none) and category (a path)."""
    with (path / "items.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        {
            "item_id": row["item_id"],
            "title": row["title"],
            "brand": "" if row["brand"] == "Unknown" else row["brand"],
            "category": " > ".join(part.strip() for part in row["categories"].split("|") if part.strip()),
        }
        for row in rows
    ]


def beauty_load(path: Path) -> ShopData:
    """The dataset as arrays: one purchase per review, spaced a day apart in each shopper's order."""
    rows = beauty_items(path)
    index = {row["item_id"]: position for position, row in enumerate(rows)}
    categories = [row["category"] for row in rows]
    users, items, stamps = [], [], []
    with (path / "sequences.txt").open(encoding="utf-8") as handle:
        for user, line in enumerate(handle):
            sequence = [index[item] for item in line.split()[1:]]
            users += [user] * len(sequence)
            items += sequence
            stamps += [86_400.0 * position for position in range(len(sequence))]
    n = len(items)
    interactions = Interactions(
        user_ids=np.asarray(users, np.int64),
        item_ids=np.asarray(items, np.int64),
        weights=np.ones(n, np.float32),
        timestamps=np.asarray(stamps, np.float64),
        event_types=np.full(n, EVENT_TYPE_CODES["purchase"], np.int64),
        n_users=max(users) + 1,
        n_items=len(rows),
    )
    texts = [item_text(row["title"], row["brand"], row["category"]) for row in rows]
    return ShopData(interactions, texts, top_category_codes(categories))


def embeddings_cached(texts: list[str], device: str) -> tuple[np.ndarray, float]:
    """Item embeddings, computed once per text set; returns them and the items/s of the computing run."""
    digest = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"beauty-minilm-{digest}.npy"
    if path.exists():
        return np.load(path), float("nan")
    started = time.perf_counter()
    embeddings = embed_items(texts, None, device)
    rate = len(texts) / (time.perf_counter() - started)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, embeddings)
    return embeddings, rate
