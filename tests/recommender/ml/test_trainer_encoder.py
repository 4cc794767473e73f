import math

import numpy as np
import pytest

from recommender.ml.data import Interactions
from recommender.ml.nets.text_similarity import TextSimilarityModel
from recommender.ml.trainer import (
    FINETUNED_TEXT,
    TEXT,
    Budget,
    ShopData,
    evaluate,
    evaluate_new_shoppers,
    fit_family,
    prepare,
)
from tests.recommender.ml.test_text_finetune import TEXTS as FINETUNE_TEXTS

HOSE, CANDLE = 0, 1
# The fine-tuning test's twelve products, and more, so the trainer's batches have in-batch negatives.
TEXTS = FINETUNE_TEXTS + [
    "silver hoop earrings",
    "digital alarm clock",
    "bamboo cutting board",
    "hiking backpack",
    "cotton bath towel",
    "glass water bottle",
    "pocket flashlight",
    "wooden chess set",
]


def shop_data(sequences: list[list[int]], texts: list[str]) -> ShopData:
    users = np.concatenate([np.full(len(sequence), user) for user, sequence in enumerate(sequences)])
    items = np.concatenate([np.asarray(sequence) for sequence in sequences])
    interactions = Interactions(
        user_ids=users.astype(np.int64),
        item_ids=items.astype(np.int64),
        weights=np.ones(len(items), np.float32),
        timestamps=np.concatenate([np.arange(len(sequence), dtype=np.float64) for sequence in sequences]),
        event_types=np.zeros(len(items), np.int64),
        n_users=len(sequences),
        n_items=len(texts),
    )
    return ShopData(interactions, texts, np.zeros(len(texts), np.int64))


def planted_shop() -> ShopData:
    """Shoppers who buy the hose and then the candle, and shoppers who buy other items two by two."""
    rng = np.random.default_rng(0)
    sequences = [[HOSE, CANDLE, *rng.choice(np.arange(2, 20), 3, replace=False).tolist()] for _ in range(30)]
    sequences += [rng.choice(np.arange(2, 20), 5, replace=False).tolist() for _ in range(30)]
    return shop_data(sequences, TEXTS)


def test_the_fine_tuned_family_brings_a_planted_pair_closer_and_reports_cold_start():
    prepared = prepare(planted_shop())
    # The hose and the candle must stay warm for their pair to be trained on: seed 1 holds out two other items.
    fitted = fit_family(FINETUNED_TEXT, prepared, Budget(device="cpu"), seed=1, lr=2e-3)
    tuned = fitted.model

    cold = fitted.metrics["cold_start"]
    assert cold["cold_items"] == 2 and cold["cases"] > 0
    assert fitted.hyperparameters["cold_fraction"] == 0.1 and fitted.hyperparameters["lr"] == 2e-3
    assert set(cold) == {"cold_items", "cases", "popularity", "frozen", "whitened", "fine_tuned"}  # the CPU default: the adapter
    assert fitted.history["steps"] >= 50  # a handful of pairs still gets enough steps
    gain = tuned.tuned[HOSE] @ tuned.tuned[CANDLE] - tuned.frozen[HOSE] @ tuned.frozen[CANDLE]
    assert gain > 0.05
    np.testing.assert_allclose(tuned.encoder.encode(TEXTS), tuned.tuned, atol=1e-5)
    report = evaluate(FINETUNED_TEXT, tuned, prepared).as_dict()
    assert report["n_users"] == 60 and 0.0 <= report["ndcg_10"] <= 1.0


def test_new_shoppers_are_scored_from_their_last_events_only():
    # The target, item 4, reads like item 3 (the last event before it); item 5 reads like items 0 to 2.
    embeddings = np.eye(6, dtype=np.float32)
    embeddings[4] = embeddings[3]
    embeddings[5] = np.asarray([1, 1, 1, 0, 0, 0], np.float32) / math.sqrt(3)
    prepared = prepare(shop_data([[0, 1, 2, 3, 4], [2, 3]], [f"item {n}" for n in range(6)]))
    model = TextSimilarityModel(embeddings, recent=5, decay=1.0)

    full = evaluate(TEXT, model, prepared, embeddings).as_dict()
    new = evaluate_new_shoppers(TEXT, model, prepared, embeddings)

    # The whole history [0, 1, 2, 3] puts item 5 first; its last event alone, or its last two, put the target first.
    assert full["n_users"] == 1 and math.isclose(full["mrr"], 0.5)
    assert new == {
        "1_event": {"hr_10": 1.0, "ndcg_10": 1.0, "n_users": 1},
        "2_events": {"hr_10": 1.0, "ndcg_10": 1.0, "n_users": 1},
    }


def test_the_validation_ranking_asks_for_the_one_before_last_event_from_the_events_before_it():
    # Item 3 (the validation target) reads like item 2; item 5 reads half like them; item 4 (the test target) like none.
    embeddings = np.eye(6, dtype=np.float32)
    embeddings[3] = embeddings[2]
    embeddings[5] = np.asarray([0, 0, 1, 0, 0, 1], np.float32) / math.sqrt(2)
    prepared = prepare(shop_data([[0, 1, 2, 3, 4]], [f"item {n}" for n in range(6)]))
    model = TextSimilarityModel(embeddings, recent=1, decay=1.0)

    validation = evaluate(TEXT, model, prepared, embeddings, validation=True).as_dict()
    new_on_validation = evaluate_new_shoppers(TEXT, model, prepared, embeddings, validation=True)
    test = evaluate(TEXT, model, prepared, embeddings).as_dict()

    # From [0, 1, 2], item 2 puts item 3 first; from [0, 1, 2, 3], item 3 puts item 5 before the test target.
    assert validation["n_users"] == 1 and validation["mrr"] == 1.0
    assert new_on_validation["1_event"] == {"hr_10": 1.0, "ndcg_10": 1.0, "n_users": 1}
    assert math.isclose(test["mrr"], 0.5)


def test_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="finetuned_text"):
        fit_family("deep-magic", prepare(planted_shop()), Budget())


def test_an_evaluation_capped_at_some_shoppers_ranks_the_same_sample_of_them_every_time():
    sequences = [[n % 6, (n + 1) % 6, (n + 2) % 6, (n + 3) % 6] for n in range(40)]
    prepared = prepare(shop_data(sequences, [f"item {n}" for n in range(6)]))
    model = TextSimilarityModel(np.eye(6, dtype=np.float32))

    everyone = evaluate(TEXT, model, prepared).as_dict()
    capped = [evaluate(TEXT, model, prepared, max_shoppers=7).as_dict() for _ in range(2)]

    assert everyone["n_users"] > 7 and capped[0]["n_users"] == 7
    assert capped[0] == capped[1]
    assert evaluate_new_shoppers(TEXT, model, prepared, max_shoppers=7)["1_event"]["n_users"] == 7
