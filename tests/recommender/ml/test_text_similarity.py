import numpy as np

from recommender.ml.nets.text_similarity import TextSimilarityModel
from recommender.ml.registry import load_arrays, save_arrays


def unit_embeddings(count: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_profile_from_vectors_is_the_profile_from_the_same_items_indices():
    model = TextSimilarityModel(unit_embeddings(50), recent=3, decay=0.5)
    history = np.asarray([4, 9, 17, 23])

    np.testing.assert_allclose(model.profile_of(model.embeddings[history]), model.profile(history), rtol=1e-6)
    # Only the latest three count, the newest twice as much as the one before.
    expected = (model.embeddings[23] + 0.5 * model.embeddings[17] + 0.25 * model.embeddings[9]) / 1.75
    np.testing.assert_allclose(model.profile(history), expected, rtol=1e-6)


def test_the_latest_item_s_nearest_others_score_highest():
    model = TextSimilarityModel(unit_embeddings(200), recent=1)

    scores = model.score_users(np.zeros(1, np.int64), [np.asarray([5, 42])])[0]

    assert int(np.argmax(scores)) == 42
    assert np.argsort(-scores)[1:6].tolist() == np.argsort(-(model.embeddings @ model.embeddings[42]))[1:6].tolist()


def test_no_history_scores_every_item_zero():
    model = TextSimilarityModel(unit_embeddings(10))

    assert not model.score_users(np.zeros(1, np.int64), [np.zeros(0, np.int64)]).any()


def test_the_model_is_saved_and_read_back(tmp_path):
    model = TextSimilarityModel(unit_embeddings(30), recent=4, decay=0.6)
    config, arrays = model.to_state()
    save_arrays(tmp_path / "model", config, arrays)

    loaded = TextSimilarityModel.from_state(*load_arrays(tmp_path / "model"))

    assert (loaded.recent, loaded.decay) == (4, 0.6)
    np.testing.assert_array_equal(loaded.embeddings, model.embeddings)
