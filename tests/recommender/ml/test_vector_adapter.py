"""The vector adapter: whitening fitted on the catalog, then a residual map trained on co-engaged pairs, over
frozen vectors; saved and loaded as the encoder a shop serves."""

import numpy as np
import pytest

from recommender.ml.ann import unit_rows
from recommender.ml.nets.text_encoder import TextEncoder
from recommender.ml.nets.text_finetune import FineTuneConfig, fine_tune_and_embed, load_fine_tuned, save_adapter
from recommender.ml.nets.text_finetune.vector_adapter import AdaptedEncoder, VectorAdapter, vector_adapter_train

DIM, PAIRS = 48, 16


def _nearest(vectors: np.ndarray) -> np.ndarray:
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    return similarity.argmax(axis=1)


def _partners_nearest(vectors: np.ndarray) -> float:
    """The share of items whose nearest other item is their pair's: items 2k and 2k + 1 are paired."""
    partner = np.arange(len(vectors)) ^ 1
    return float((_nearest(vectors) == partner).mean())


@pytest.fixture
def planted() -> tuple[np.ndarray, np.ndarray]:
    """Random vectors for 2 * PAIRS items (a few shared directions dominate, as in sentence vectors), and the
    pairs (2k, 2k + 1), which nothing in the vectors relates."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2 * PAIRS, DIM)) + 4.0 * rng.normal(size=(1, DIM))
    pairs = np.asarray([(2 * k, 2 * k + 1) for k in range(PAIRS)], dtype=np.int64)
    return unit_rows(vectors), pairs


def test_whitening_gives_the_catalog_unit_variance_in_every_direction():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(2000, 8)) * np.asarray([10, 5, 2, 1, 1, 0.5, 0.2, 0.1]) + 3.0
    adapter = VectorAdapter.whitening_fit(vectors, eps=1e-9)

    centred = (vectors - adapter.mean) @ adapter.whitening

    np.testing.assert_allclose(np.cov(centred.T, bias=True), np.eye(8), atol=1e-3)
    np.testing.assert_allclose(adapter.transform(vectors), adapter.whitened(vectors), atol=1e-6)  # no map yet


def test_the_adapter_makes_co_engaged_items_each_others_nearest(planted):
    vectors, pairs = planted
    config = FineTuneConfig(mode="adapter", batch_size=PAIRS, lr=3e-2, epochs=300, temperature=0.1, whitening_eps=1e-6)

    adapter, history = vector_adapter_train(vectors, pairs, config)

    assert _partners_nearest(adapter.whitened(vectors)) < 0.25  # whitening alone knows nothing of the pairs
    assert _partners_nearest(adapter.transform(vectors)) >= 0.9
    assert history["steps"] == 300 and history["loss_per_epoch"][-1] < history["loss_per_epoch"][0]


def test_an_adapted_run_saves_an_encoder_that_embeds_new_texts_as_it_embedded_the_catalog(tmp_path):
    texts = ["blue garden hose", "vanilla scented candle", "leather office chair", "organic green tea", "red running shoes"]
    pairs = np.asarray([(0, 1), (2, 3), (3, 4)], dtype=np.int64)
    config = FineTuneConfig(mode="adapter", batch_size=4, epochs=5)

    tuned = fine_tune_and_embed(texts, pairs, config)
    save_adapter(tuned.encoder, tmp_path / "model", config)
    loaded = load_fine_tuned(tmp_path / "model")

    assert isinstance(loaded, AdaptedEncoder) and set(tuned.stages) == {"whitened"}
    np.testing.assert_allclose(loaded.encode(texts), tuned.tuned, atol=1e-5)
    np.testing.assert_allclose(tuned.frozen, TextEncoder().encode(texts), atol=1e-5)
    assert sum(path.stat().st_size for path in (tmp_path / "model").rglob("*") if path.is_file()) < 2 * 2**20
