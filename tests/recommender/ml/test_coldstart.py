import math

import numpy as np
import pytest

from recommender.ml.coldstart import ColdCases, cold_item_split, cold_start_report, evaluate_cold, evaluate_cold_popularity, items_removed


def random_sequences(n_users: int = 300, n_items: int = 200, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n_items, size=rng.integers(1, 12)) for _ in range(n_users)]


def unit(vectors: list[list[float]]) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


def test_cold_items_are_a_tenth_of_the_catalog_and_absent_from_training():
    split = cold_item_split(random_sequences(), n_items=200, fraction=0.1, seed=3)

    assert len(split.cold_items) == 20 == len(set(split.cold_items.tolist()))
    assert not np.isin(np.concatenate(split.train_sequences), split.cold_items).any()


def test_training_sequences_keep_every_warm_event_in_order():
    sequences = random_sequences()
    split = cold_item_split(sequences, n_items=200, seed=3)

    for sequence, train in zip(sequences, split.train_sequences):
        assert train.tolist() == [item for item in sequence.tolist() if item not in set(split.cold_items.tolist())]


def test_each_case_is_a_shopper_whose_last_event_is_cold_with_a_warm_history():
    sequences = random_sequences()
    split = cold_item_split(sequences, n_items=200, seed=3)
    cases = split.cases
    cold = set(split.cold_items.tolist())

    assert len(cases) > 0
    for user, history, target in zip(cases.users, cases.histories, cases.targets):
        assert target in cold
        assert sequences[user][-1] == target
        assert len(history) > 0 and not cold & set(history.tolist())
        assert history.tolist() == split.train_sequences[user].tolist()
    expected = [u for u, s in enumerate(sequences) if s[-1] in cold and any(i not in cold for i in s.tolist())]
    assert cases.users.tolist() == expected


def test_the_split_is_reproducible_by_seed():
    sequences = random_sequences()

    first, again, other = (cold_item_split(sequences, 200, seed=seed) for seed in (1, 1, 2))

    assert first.cold_items.tolist() == again.cold_items.tolist()
    assert first.cold_items.tolist() != other.cold_items.tolist()


def test_evaluate_cold_ranks_against_the_whole_catalog_without_the_history():
    embeddings = unit([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.9, 0.1, 0], [0.1, 0.9, 0]])
    cases = ColdCases(
        users=np.array([0, 1]),
        histories=[np.array([0]), np.array([1])],
        targets=np.array([3, 3]),
    )

    # Case 0: item 3 is nearest to item 0 (rank 0). Case 1: warm item 4 beats it (rank 1).
    metrics = evaluate_cold(embeddings, cases, cold_items=np.array([3]), k=10)
    top_one = evaluate_cold(embeddings, cases, cold_items=np.array([3]), k=1)

    assert metrics["n_cases"] == 2
    assert metrics["hr_10"] == 1.0
    assert math.isclose(metrics["ndcg_10"], (1.0 + 1.0 / math.log2(3)) / 2)
    assert top_one["hr_1"] == 0.5


def test_evaluate_cold_refuses_a_warm_target():
    cases = ColdCases(np.array([0]), [np.array([0])], np.array([1]))

    with pytest.raises(ValueError):
        evaluate_cold(unit([[1, 0], [0, 1]]), cases, cold_items=np.array([0]))


def test_popularity_puts_cold_targets_behind_every_item_seen_in_training():
    train = [np.array([0, 1, 2]), np.array([1, 2]), np.array([2])]
    cases = ColdCases(np.array([0]), [np.array([0])], np.array([4]))

    metrics = evaluate_cold_popularity(train, n_items=5, cases=cases, cold_items=np.array([3, 4]), k=2)
    at_three = evaluate_cold_popularity(train, n_items=5, cases=cases, cold_items=np.array([3, 4]), k=3)

    # Items 1 and 2 outrank the target; item 0 is the history; item 3 ties at zero.
    assert metrics == {"hr_2": 0.0, "ndcg_2": 0.0, "n_cases": 1}
    assert at_three["hr_3"] == 1.0
    assert math.isclose(at_three["ndcg_3"], 1.0 / math.log2(4))


def test_items_removed_drops_every_event_on_them_and_keeps_the_order():
    removed = items_removed([np.array([3, 1, 4, 1, 5]), np.array([1]), np.array([], dtype=np.int64)], np.array([1, 5]))

    assert [sequence.tolist() for sequence in removed] == [[3, 4], [], []]


def test_the_cold_start_report_ranks_each_embedding_and_popularity_on_the_same_cases():
    sequences = random_sequences()
    split = cold_item_split(sequences, n_items=200, seed=3)
    rng = np.random.default_rng(0)
    good = unit(rng.normal(size=(200, 8)).tolist())

    report = cold_start_report(split, split.train_sequences, 200, {"same": good, "again": good.copy()})

    assert report["cold_items"] == 20 and report["cases"] == len(split.cases)
    assert report["same"] == report["again"] == evaluate_cold(good, split.cases, split.cold_items)
    assert report["popularity"] == evaluate_cold_popularity(split.train_sequences, 200, split.cases, split.cold_items)


def test_no_cold_case_gives_no_metric_rather_than_nan():
    none = ColdCases(np.zeros(0, np.int64), [], np.zeros(0, np.int64))

    assert evaluate_cold(unit(np.eye(4).tolist()), none, cold_items=np.array([3])) == {"hr_10": None, "ndcg_10": None, "n_cases": 0}
