import math

import numpy as np
import pytest

from recommender.ml.evaluation import (
    catalog_coverage,
    distinct_categories,
    evaluate_scores,
    hit_rate_at_k,
    intra_list_diversity,
    mrr,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    target_ranks,
    top_k,
)

RANKS = np.array([0, 3, 20])


def test_hit_rate_counts_targets_inside_cutoff():
    assert hit_rate_at_k(RANKS, 10) == pytest.approx(2 / 3)
    assert hit_rate_at_k(RANKS, 1) == pytest.approx(1 / 3)
    assert hit_rate_at_k(RANKS, 21) == pytest.approx(1.0)


def test_ndcg_discounts_by_log_rank():
    assert ndcg_at_k(RANKS, 10) == pytest.approx((1 + 1 / math.log2(5)) / 3)
    assert ndcg_at_k(RANKS, 3) == pytest.approx(1 / 3)


def test_recall_equals_hit_rate_and_precision_divides_by_k():
    assert recall_at_k(RANKS, 10) == pytest.approx(2 / 3)
    assert precision_at_k(RANKS, 10) == pytest.approx(2 / 30)


def test_mrr_averages_reciprocal_ranks():
    assert mrr(RANKS) == pytest.approx((1 + 1 / 4 + 1 / 21) / 3)


def test_metrics_of_no_users_are_nan():
    assert math.isnan(hit_rate_at_k(np.array([], dtype=np.int64), 10))


def test_target_rank_counts_strictly_better_items_after_excluding_history():
    scores = np.array([[0.9, 0.8, 0.7, 0.1, 0.75]])

    assert target_ranks(scores, np.array([2])).tolist() == [3]
    assert target_ranks(scores, np.array([2]), exclude=[np.array([0, 4])]).tolist() == [1]


def test_target_rank_never_excludes_the_target():
    scores = np.array([[0.9, 0.8, 0.7, 0.1]])

    ranks = target_ranks(scores, np.array([2]), exclude=[np.array([2, 0])])

    assert ranks.tolist() == [1]


def test_target_rank_ties_rank_ahead():
    scores = np.array([[0.5, 0.5, 0.5, 0.9]])

    assert target_ranks(scores, np.array([1])).tolist() == [1]


def test_target_rank_is_the_same_in_small_chunks():
    rng = np.random.default_rng(0)
    scores = rng.random((7, 30))
    targets = rng.integers(0, 30, size=7)
    exclude = [rng.choice(30, size=5, replace=False) for _ in range(7)]

    whole = target_ranks(scores, targets, exclude)
    chunked = target_ranks(scores, targets, exclude, chunk_size=2)

    expected = []
    for user in range(7):
        competitors = np.delete(scores[user], np.setdiff1d(exclude[user], [targets[user]]))
        expected.append(int(np.sum(competitors > scores[user, targets[user]])))
    assert whole.tolist() == expected
    assert chunked.tolist() == expected


def test_target_rank_rejects_missing_targets():
    with pytest.raises(ValueError, match="target -1"):
        target_ranks(np.zeros((1, 3)), np.array([-1]))


def test_top_k_orders_by_score_and_skips_excluded_items():
    scores = np.array([[0.1, 0.9, 0.5, 0.7, 0.3], [0.5, 0.4, 0.3, 0.2, 0.1]])

    top = top_k(scores, 3, exclude=[np.array([1]), np.array([], dtype=np.int64)])

    assert top.tolist() == [[3, 2, 4], [0, 1, 2]]


def test_top_k_pads_when_too_few_items_remain():
    scores = np.array([[0.1, 0.9, 0.5]])

    top = top_k(scores, 4, exclude=[np.array([1, 2])])

    assert top.tolist() == [[0, -1, -1, -1]]


def test_top_k_never_returns_excluded_items_on_random_scores():
    rng = np.random.default_rng(1)
    scores = rng.random((50, 40))
    exclude = [rng.choice(40, size=35, replace=False) for _ in range(50)]

    top = top_k(scores, 10, exclude, chunk_size=7)

    for row, excluded in zip(top, exclude):
        assert not set(row.tolist()) & set(excluded.tolist())
        assert sorted(row[row >= 0].tolist()) == sorted(set(range(40)) - set(excluded.tolist()))


def test_catalog_coverage_counts_distinct_listed_items():
    top = np.array([[0, 1], [1, 2], [2, -1]])

    assert catalog_coverage(top, n_items=10) == pytest.approx(0.3)


def test_intra_list_diversity_averages_cosine_distances():
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    top = np.array([[0, 1], [0, 2], [0, -1]])

    ild = intra_list_diversity(top, embeddings)

    # The padded list has no pair and does not count.
    assert ild == pytest.approx((1.0 + (1.0 - 1 / math.sqrt(2))) / 2)


def test_intra_list_diversity_of_three_items_averages_three_pairs():
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])

    ild = intra_list_diversity(np.array([[0, 1, 2]]), embeddings)

    assert ild == pytest.approx((1.0 + 2.0 + 1.0) / 3)


def test_distinct_categories_ignores_unknown_and_padding():
    categories = np.array([0, 0, 1, -1])
    top = np.array([[0, 1, 2], [2, 3, -1]])

    assert distinct_categories(top, categories) == pytest.approx(1.5)


def test_novelty_uses_share_of_interactions_with_floor():
    popularity = np.array([6.0, 2.0, 0.0, 0.0])
    top = np.array([[0, 1], [2, -1]])

    expected = (-math.log2(6 / 8) - math.log2(2 / 8) - math.log2(2 / 8)) / 3
    assert novelty(top, popularity) == pytest.approx(expected)


def test_evaluate_scores_of_perfect_scorer_hits_every_target():
    n_items = 30
    histories = [np.array([1, 2]), np.array([3]), np.array([4, 5]), np.array([6]), np.array([7])]
    targets = np.array([10, -1, 12, 13, 14])
    seen_batches = []

    def scores_fn(users, batch_histories):
        seen_batches.append(users.tolist())
        scores = np.zeros((len(users), n_items))
        for row, (user, history) in enumerate(zip(users, batch_histories)):
            scores[row, history] = 2.0  # history scores higher but must be excluded
            scores[row, targets[user]] = 1.0
        return scores

    report = evaluate_scores(scores_fn, histories, targets, n_items, batch_size=2)

    assert seen_batches == [[0, 2], [3, 4]]
    assert report.n_users == 4
    assert report.hr_10 == 1.0
    assert report.ndcg_10 == pytest.approx(1.0)
    assert report.mrr == pytest.approx(1.0)
    assert report.precision_10 == pytest.approx(0.1)
    assert math.isnan(report.ild)
    assert report.as_dict()["ild"] is None
    assert report.as_dict()["hr_10"] == 1.0


def test_evaluate_scores_computes_beyond_accuracy_metrics_on_top_10():
    n_items = 12
    histories = [np.array([11]), np.array([11])]
    targets = np.array([0, 1])
    categories = np.array([0] * 6 + [1] * 6)

    def scores_fn(users, batch_histories):
        return np.tile(-np.arange(n_items, dtype=np.float64), (len(users), 1))

    report = evaluate_scores(
        scores_fn,
        histories,
        targets,
        n_items,
        item_embeddings=np.eye(n_items),
        item_categories=categories,
        item_popularity=np.ones(n_items),
    )

    # Both lists are items 0..9: item 11 is excluded, item 10 ranks 11th.
    assert report.coverage == pytest.approx(10 / 12)
    assert report.ild == pytest.approx(1.0)
    assert report.distinct_categories == pytest.approx(2.0)
    assert report.novelty == pytest.approx(math.log2(12))
    assert report.recall_20 == 1.0
    assert report.ndcg_20 == pytest.approx((1 + 1 / math.log2(3)) / 2)
