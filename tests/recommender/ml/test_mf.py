import json

import numpy as np
import pytest

from recommender.ml.data import sequences_to_matrix
from recommender.ml.nets.mf import ALSModel

N_ITEMS = 20
GROUP_A_ITEMS = np.arange(0, 10)
GROUP_B_ITEMS = np.arange(10, 20)
USERS_PER_GROUP = 30


@pytest.fixture(scope="module")
def histories() -> list[np.ndarray]:
    """Users 0-29 buy only items 0-9, users 30-59 only items 10-19, five items each."""
    rng = np.random.default_rng(7)
    group_a = [rng.choice(GROUP_A_ITEMS, size=5, replace=False) for _ in range(USERS_PER_GROUP)]
    group_b = [rng.choice(GROUP_B_ITEMS, size=5, replace=False) for _ in range(USERS_PER_GROUP)]
    return group_a + group_b


@pytest.fixture(scope="module")
def model(histories) -> ALSModel:
    user_items = sequences_to_matrix(histories, N_ITEMS)
    # The planted pattern has rank 2; more factors would memorise each user's
    # own five items instead of learning the groups.
    return ALSModel(factors=2, iterations=15).fit(user_items)


def test_factors_have_fitted_shapes(model):
    assert model.user_factors.shape == (2 * USERS_PER_GROUP, 2)
    assert model.item_factors.shape == (N_ITEMS, 2)


def test_unseen_in_group_items_outscore_out_group_items(model, histories):
    users = np.arange(2 * USERS_PER_GROUP)

    scores = model.score_users(users, histories)

    for user, history in zip(users, histories):
        own, other = GROUP_A_ITEMS, GROUP_B_ITEMS
        if user >= USERS_PER_GROUP:
            own, other = other, own
        unseen_own = np.setdiff1d(own, history)
        assert scores[user, unseen_own].min() > scores[user, other].max()


def test_similar_items_stay_in_group(model):
    ids, similarities = model.similar_items(3, k=5)

    assert 3 not in ids.tolist()
    assert set(ids.tolist()) <= set(GROUP_A_ITEMS.tolist())
    assert np.all(np.diff(similarities) <= 0)
    assert similarities.max() <= 1.0 + 1e-6

    ids_b, _ = model.similar_items(15, k=5)
    assert set(ids_b.tolist()) <= set(GROUP_B_ITEMS.tolist())


def test_state_round_trip_gives_identical_scores(model, histories):
    config, arrays = model.to_state()
    restored = ALSModel.from_state(json.loads(json.dumps(config)), arrays)
    users = np.array([0, 31, 59])
    batch_histories = [histories[user] for user in users]

    original = model.score_users(users, batch_histories)

    np.testing.assert_array_equal(restored.score_users(users, batch_histories), original)
    assert restored.alpha == model.alpha


def test_new_user_folded_in_from_group_a_history_prefers_group_a(model):
    new_user = np.array([2 * USERS_PER_GROUP + 5])

    scores = model.score_users(new_user, [np.array([0, 1, 2])])[0]

    assert scores[GROUP_A_ITEMS[3:]].min() > scores[GROUP_B_ITEMS].max()


def test_fold_in_matches_implicit_recalculate_user():
    from implicit.cpu.als import AlternatingLeastSquares

    item_factors = np.random.default_rng(3).normal(size=(N_ITEMS, 8)).astype(np.float32)
    config = dict(factors=8, regularization=0.1, iterations=1, alpha=20.0, random_state=0)
    no_users = np.zeros((0, 8), dtype=np.float32)
    model = ALSModel.from_state(config, {"user_factors": no_users, "item_factors": item_factors})
    reference = AlternatingLeastSquares(factors=8, regularization=0.1, alpha=20.0)
    reference.item_factors = item_factors
    history = np.array([4, 5, 5, 9])

    expected = reference.recalculate_user(0, sequences_to_matrix([history], N_ITEMS))

    np.testing.assert_allclose(model.fold_in([history])[0], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        model.score_users(np.array([0]), [history])[0],
        item_factors @ expected,
        rtol=1e-4,
        atol=1e-4,
    )


def test_new_user_without_history_scores_zero(model):
    scores = model.score_users(np.array([1000]), [np.array([], dtype=np.int64)])

    assert scores.shape == (1, N_ITEMS)
    assert not scores.any()
