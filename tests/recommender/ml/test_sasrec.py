import time

import numpy as np
import pytest
import torch

from recommender.ml.evaluation import ndcg_at_k, target_ranks
from recommender.ml.nets.sasrec import SASRecConfig, SASRecModel

A, B, C = 0, 1, 2
NOISE = np.arange(3, 30)
COLD_LIKE_C = 30
COLD_UNLIKE_C = 31
N_ITEMS = 32
TEXT_DIM = 16
HISTORY_ENDING_AB = np.array([5, 9, 14, A, B])
NO_TARGETS = np.zeros(0, dtype=np.int64)


def _pattern_sequence(rng):
    before = rng.choice(NOISE, rng.integers(0, 5))
    after = rng.choice(NOISE, rng.integers(0, 3))
    return np.concatenate([before, [A, B, C], after]).astype(np.int64)


def _noise_sequence(rng):
    return rng.choice(NOISE, rng.integers(3, 10)).astype(np.int64)


def _text_embeddings(rng):
    text = rng.normal(size=(N_ITEMS, TEXT_DIM)).astype(np.float32)
    text[COLD_LIKE_C] = text[C] + 0.1 * rng.normal(size=TEXT_DIM)
    return text / np.linalg.norm(text, axis=1, keepdims=True)


def _config(**overrides):
    settings = dict(
        n_items=N_ITEMS,
        max_len=20,
        hidden=32,
        text_dim=TEXT_DIM,
        batch_size=64,
        max_epochs=20,
        patience=5,
    )
    return SASRecConfig(**(settings | overrides))


@pytest.fixture(scope="module")
def data():
    """A then B is always followed by C; the two cold items never occur."""
    rng = np.random.default_rng(0)
    train = [_pattern_sequence(rng) for _ in range(300)]
    train += [_noise_sequence(rng) for _ in range(300)]
    # Noise shoppers' next items are unpredictable, so only pattern shoppers validate.
    valid_histories = [np.concatenate([rng.choice(NOISE, 3), [A, B]]) for _ in range(30)]
    return {
        "train": train,
        "valid_histories": valid_histories,
        "valid_targets": np.full(30, C),
        "text": _text_embeddings(rng),
    }


@pytest.fixture(scope="module")
def fitted(data):
    """Trained for a fixed 20 epochs: without validation the last weights are kept."""
    torch.manual_seed(0)
    model = SASRecModel(_config(), data["text"], device="cpu")
    history = model.fit(data["train"], None, [], None, NO_TARGETS)
    return model, history


def test_learns_that_a_then_b_is_followed_by_c(fitted):
    model, _ = fitted

    scores = model.score([HISTORY_ENDING_AB])

    assert int(scores[0].argmax()) == C


def test_cold_item_reading_like_c_outscores_items_unlike_c(fitted):
    model, _ = fitted

    scores = model.score([HISTORY_ENDING_AB])[0]

    assert model.net.has_id_embedding[[COLD_LIKE_C, COLD_UNLIKE_C]].tolist() == [0.0, 0.0]
    assert scores[COLD_LIKE_C] > scores[COLD_UNLIKE_C]
    assert scores[COLD_LIKE_C] > scores[NOISE].max()


def test_a_vector_from_outside_the_catalog_scores_as_a_cold_item_with_that_vector_does(fitted, data):
    model, _ = fitted

    scores = model.score([HISTORY_ENDING_AB], new_vectors=data["text"][[COLD_LIKE_C, C]])[0]

    assert scores.shape == (N_ITEMS + 2,)
    np.testing.assert_allclose(scores[N_ITEMS], scores[COLD_LIKE_C], rtol=1e-5)  # text alone, as for an item never seen
    assert scores[N_ITEMS + 1] != pytest.approx(scores[C])  # a trained item has its id vector too


def test_on_text_alone_every_item_scores_as_its_vector_does_wherever_it_comes_from(data):
    torch.manual_seed(0)
    model = SASRecModel(_config(fuse="text", max_epochs=3), data["text"], device="cpu")
    model.fit(data["train"], None, [], None, NO_TARGETS)

    scores = model.score([HISTORY_ENDING_AB], new_vectors=data["text"][[C]])[0]

    assert not model.net.has_id_embedding.any()
    np.testing.assert_allclose(scores[N_ITEMS], scores[C], rtol=1e-5)
    with pytest.raises(ValueError):
        SASRecConfig(n_items=N_ITEMS, fuse="text")  # text alone needs text


def test_without_validation_the_last_epoch_is_kept(fitted):
    _, history = fitted

    assert history["stopped_by"] == "max_epochs"
    assert history["best_epoch"] == history["epochs"] == 20
    assert history["best_valid_ndcg10"] is None
    assert history["device"] == "cpu"
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_early_stopping_restores_the_best_validated_weights(data):
    torch.manual_seed(0)
    model = SASRecModel(_config(max_epochs=50, patience=3), data["text"], device="cpu")
    reports = []

    history = model.fit(
        data["train"], None, data["valid_histories"], None, data["valid_targets"], reports.append
    )

    scores = model.score(data["valid_histories"])
    ranks = target_ranks(scores, data["valid_targets"], data["valid_histories"])
    assert ndcg_at_k(ranks, 10) == pytest.approx(history["best_valid_ndcg10"], abs=1e-6)
    assert history["best_valid_ndcg10"] == max(history["valid_ndcg10"])
    assert history["stopped_by"] == "patience"
    assert history["epochs"] == history["best_epoch"] + 3 < 50
    assert [report["epoch"] for report in reports] == list(range(1, history["epochs"] + 1))
    assert [report["valid_ndcg10"] for report in reports] == history["valid_ndcg10"]


def test_save_and_load_give_identical_scores(fitted, tmp_path):
    model, _ = fitted
    histories = [np.array([5, A, B]), np.array([7, 8, 9, 10]), np.array([], dtype=np.int64)]

    model.save(tmp_path / "sasrec")
    loaded = SASRecModel.load(tmp_path / "sasrec", device="cpu")

    assert sorted(p.name for p in (tmp_path / "sasrec").iterdir()) == [
        "config.json",
        "model.safetensors",
        "text_embeddings.npy",
    ]
    assert loaded.config == model.config
    np.testing.assert_array_equal(loaded.score(histories), model.score(histories))


def test_single_history_scores_the_whole_catalog(fitted):
    model, _ = fitted

    scores = model.score([np.array([A, B])])

    assert scores.shape == (1, N_ITEMS)
    assert scores.dtype == np.float32


def test_batch_padding_does_not_change_scores(fitted):
    model, _ = fitted
    histories = [np.array([A, B]), np.arange(3, 30), np.array([], dtype=np.int64), np.array([4])]

    batched = model.score(histories)
    alone = np.vstack([model.score([history]) for history in histories])

    assert np.isfinite(batched).all()
    np.testing.assert_allclose(batched, alone, atol=1e-4)


def test_score_users_ignores_user_indices(fitted):
    model, _ = fitted
    histories = [np.array([A, B]), np.array([4, 5])]

    scores = model.score_users(np.array([7, 3]), histories)

    np.testing.assert_array_equal(scores, model.score(histories))


def test_time_limit_stops_training_and_says_so(data):
    torch.manual_seed(0)
    config = _config(max_epochs=10_000, patience=10_000, time_limit_s=0.5)
    model = SASRecModel(config, data["text"], device="cpu")
    started = time.monotonic()

    history = model.fit(data["train"], None, data["valid_histories"], None, data["valid_targets"])

    assert history["stopped_by"] == "time_limit"
    assert history["epochs"] < 10_000
    assert time.monotonic() - started < 10
    assert history["best_valid_ndcg10"] is not None


def test_event_types_change_the_scores_without_text_features(data):
    torch.manual_seed(0)
    model = SASRecModel(_config(text_dim=0, max_epochs=2), None, device="cpu")
    types = [(seq % 3).astype(np.int64) for seq in data["train"]]

    model.fit(data["train"], types, [], None, NO_TARGETS)

    as_views = model.score([HISTORY_ENDING_AB], [np.zeros(5, dtype=np.int64)])
    as_purchases = model.score([HISTORY_ENDING_AB], [np.full(5, 2)])
    assert as_views.shape == (1, N_ITEMS)
    assert not np.allclose(as_views, as_purchases)


def test_config_round_trips_through_json():
    config = _config(time_limit_s=12.5)

    assert SASRecConfig.from_json(config.to_json()) == config
