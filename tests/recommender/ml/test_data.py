import numpy as np
import pytest

from recommender.ml.data import Interactions, leave_last_out, sequences_to_matrix


def make_interactions(rows: list[tuple[int, int, float, float, int]], n_users: int, n_items: int):
    users, items, weights, times, types = zip(*rows)
    return Interactions(
        user_ids=np.array(users, dtype=np.int64),
        item_ids=np.array(items, dtype=np.int64),
        weights=np.array(weights, dtype=np.float32),
        timestamps=np.array(times, dtype=np.float64),
        event_types=np.array(types, dtype=np.int64),
        n_users=n_users,
        n_items=n_items,
    )


def test_sequences_sort_each_user_by_timestamp():
    interactions = make_interactions(
        [
            (1, 7, 1.0, 300.0, 0),
            (0, 2, 1.0, 200.0, 1),
            (1, 5, 3.0, 100.0, 2),
            (0, 4, 1.0, 100.0, 0),
        ],
        n_users=3,
        n_items=8,
    )

    sequences = interactions.sequences()

    assert [seq.tolist() for seq in sequences] == [[4, 2], [5, 7], []]
    assert [seq.tolist() for seq in interactions.type_sequences()] == [[0, 1], [2, 0], []]
    assert [seq.tolist() for seq in interactions.weight_sequences()] == [[1.0, 1.0], [3.0, 1.0], []]


def test_sequences_keep_row_order_for_equal_timestamps():
    interactions = make_interactions(
        [(0, 3, 1.0, 50.0, 0), (0, 1, 1.0, 50.0, 0), (0, 2, 1.0, 10.0, 0), (0, 0, 1.0, 50.0, 0)],
        n_users=1,
        n_items=4,
    )

    assert interactions.sequences()[0].tolist() == [2, 3, 1, 0]


def test_interactions_reject_out_of_range_item():
    with pytest.raises(ValueError, match="item_ids"):
        make_interactions([(0, 5, 1.0, 0.0, 0)], n_users=1, n_items=5)


def test_leave_last_out_boundaries():
    sequences = [np.array([10, 11, 12, 13, 14]), np.array([20, 21, 22])]
    types = [np.array([0, 0, 1, 0, 2]), np.array([1, 1, 2])]

    split = leave_last_out(sequences, types)

    assert split.train[0].tolist() == [10, 11, 12]
    assert split.train_types[0].tolist() == [0, 0, 1]
    assert split.valid_history[0].tolist() == [10, 11, 12]
    assert split.valid_history_types[0].tolist() == [0, 0, 1]
    assert split.valid_targets.tolist() == [13, 21]
    assert split.test_history[0].tolist() == [10, 11, 12, 13]
    assert split.test_history_types[0].tolist() == [0, 0, 1, 0]
    assert split.test_targets.tolist() == [14, 22]
    assert split.train[1].tolist() == [20]
    assert split.test_history[1].tolist() == [20, 21]


def test_leave_last_out_keeps_short_users_whole_without_targets():
    sequences = [np.array([1, 2]), np.array([], dtype=np.int64), np.array([3, 4, 5])]

    split = leave_last_out(sequences)

    assert split.valid_targets.tolist() == [-1, -1, 4]
    assert split.test_targets.tolist() == [-1, -1, 5]
    assert split.train[0].tolist() == [1, 2]
    assert split.test_history[0].tolist() == [1, 2]
    assert split.train[1].tolist() == []
    assert split.train_types[0].tolist() == [0, 0]


def test_sequences_to_matrix_sums_repeated_events():
    sequences = [np.array([0, 2, 0]), np.array([], dtype=np.int64), np.array([1])]

    matrix = sequences_to_matrix(sequences, n_items=3)

    assert matrix.shape == (3, 3)
    assert matrix.toarray().tolist() == [[2, 0, 1], [0, 0, 0], [0, 1, 0]]


def test_sequences_to_matrix_uses_event_weights():
    sequences = [np.array([0, 2, 0])]
    weights = [np.array([1.0, 5.0, 0.5], dtype=np.float32)]

    matrix = sequences_to_matrix(sequences, n_items=3, weights=weights)

    assert matrix.toarray().tolist() == [[1.5, 0, 5.0]]


def test_top_category_codes_number_top_levels_in_name_order():
    from recommender.ml.data import top_category_codes

    codes = top_category_codes(["Skin Care > Face", "", "Makeup > Nails", "Makeup", "Skin Care"])
    assert codes.tolist() == [1, -1, 0, 0, 1]
