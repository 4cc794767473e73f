import numpy as np

from recommender.ml.topk import ranked_pairs, top_indices


def test_the_top_k_leaves_out_excluded_and_unscorable_items_best_first():
    scores = np.array([0.1, 0.9, -np.inf, 0.5, 0.7], dtype=np.float32)

    assert top_indices(scores, 3, exclude=[1]).tolist() == [4, 3, 0]
    assert top_indices(scores, 10).tolist() == [1, 4, 3, 0]  # never the -inf one, however many are asked for


def test_ranked_pairs_name_each_index_by_its_key_as_plain_numbers_in_order():
    keys = np.array([101, 102, 103, 104], dtype=np.int64)
    indices = np.array([3, 0, 2])
    scores = np.array([0.75, 0.5, -np.inf], dtype=np.float32)

    pairs = ranked_pairs(keys, indices, scores)

    assert pairs == [(104, 0.75), (101, 0.5)]
    assert all(type(key) is int and type(score) is float for key, score in pairs)
