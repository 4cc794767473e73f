"""Search words as interest, a sanity check on Amazon Beauty: does a search move the text family's ranking
towards what the shopper buys next?

Each test shopper's last event before their held-out item is replaced by a search whose words are that
item's brand and the last step of its category ("OPI nail polish"), embedded by the same encoder as the
items. The text family then ranks the whole catalog from the rest of the history, once without the search
and once with its words as the newest element of the profile, exactly as a homepage does
(`homepage.services.context`), and once from the words alone, as the "Because you searched for …" rail
does. The words are built from the answer, so this shows that the signal is wired to pull the right way,
not how much real searches help.
"""

import argparse
from pathlib import Path

import numpy as np

from recommender.ml.evaluation import hit_rate_at_k, ndcg_at_k, target_ranks
from recommender.ml.nets.text_encoder import query_normalized
from recommender.ml.nets.text_similarity import TextSimilarityModel
from recommender.ml.trainer import embed_items, prepare

from .common import BenchResult, dataset_result
from .common.datasets import DEMO_DATA, beauty_items, beauty_load, embeddings_cached

CHUNK = 1024


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench search")
    parser.add_argument("--data", type=Path, default=DEMO_DATA)
    parser.add_argument("--shoppers", type=int, default=None, help="test shoppers to rank (default: all)")
    parser.add_argument("--device", default="cpu")
    return parser.parse_args(argv)


def search_words(item: dict) -> str:
    """What a shopper looking for `item` might type: its brand and the last step of its category."""
    leaf = item["category"].rpartition(" > ")[2]
    return query_normalized(f"{item['brand']} {leaf}")


def _ranks(model: TextSimilarityModel, profiles: np.ndarray, targets: np.ndarray, exclude: list[np.ndarray]) -> np.ndarray:
    scores = profiles @ model.embeddings.T
    return target_ranks(scores, targets, exclude)


def _row(label: str, ranks: np.ndarray) -> dict:
    return {"ranking": label, "hr_10": hit_rate_at_k(ranks, 10), "ndcg_10": ndcg_at_k(ranks, 10), "shoppers": len(ranks)}


def run(argv: list[str]) -> BenchResult:
    options = arguments(argv)
    result = dataset_result("search", options.data)
    if result.skipped:
        return result
    data = beauty_load(options.data)
    items = beauty_items(options.data)
    split = prepare(data).split
    embeddings, _ = embeddings_cached(data.item_texts, options.device)
    model = TextSimilarityModel(embeddings)
    shoppers = [user for user, target in enumerate(split.test_targets) if target >= 0 and len(split.test_history[user]) >= 2]
    shoppers = shoppers[: options.shoppers]
    targets = split.test_targets[shoppers]
    words = [search_words(items[target]) for target in targets]
    distinct = sorted(set(words))
    vectors = dict(zip(distinct, embed_items(distinct, None, options.device)))
    rows = {"without the search": [], "with the search, as the page reads it": [], "the search's words alone": []}
    for start in range(0, len(shoppers), CHUNK):
        chunk = slice(start, start + CHUNK)
        kept = [split.test_history[user][:-1] for user in shoppers[chunk]]  # the replaced event is not the shopper's
        query = np.stack([vectors[text] for text in words[chunk]])
        without = np.stack([model.profile(history) for history in kept])
        with_search = np.stack([model.profile_of(np.vstack([embeddings[history], vector])) for history, vector in zip(kept, query)])
        for label, profiles in zip(rows, (without, with_search, query)):
            rows[label].append(_ranks(model, profiles, targets[chunk], kept))
    ranks = {label: np.concatenate(parts) for label, parts in rows.items()}
    result.rows = [_row(label, found) for label, found in ranks.items()]
    without, with_search = (ndcg_at_k(ranks[label], 10) for label in list(ranks)[:2])
    result.metrics = {"ndcg_10_without": without, "ndcg_10_with": with_search, "searches": len(distinct)}
    result.notes.append(
        f"{len(shoppers):,} test shoppers, {len(distinct):,} distinct searches. With the search the text family ranks the "
        f"next item {'higher' if with_search > without else 'no higher'} (NDCG@10 {with_search:.4f} against {without:.4f}). "
        "The words are built from the item itself: a sanity check of the wiring, not a quality claim."
    )
    return result
