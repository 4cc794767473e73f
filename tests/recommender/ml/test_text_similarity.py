import numpy as np
import pytest

from recommender.ml import nets
from recommender.ml.nets.text_similarity import TextSimilarityModel
from recommender.ml.registry import load_arrays, save_arrays


def unit_embeddings(count: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def scanned():
    """The model without a neighbour table: every similar-items call scans the catalog."""
    return TextSimilarityModel(unit_embeddings(1500))


@pytest.mark.parametrize("item", [0, 700, 1499])
@pytest.mark.parametrize("k", [1, 10, 100])
def test_the_neighbour_table_gives_what_a_scan_of_the_catalog_gives(scanned, monkeypatch, item, k):
    # Chunks smaller than the catalog, the last one partial: every chunk's own items are left out of its rows.
    monkeypatch.setattr(nets.text_similarity, "NEIGHBOUR_CHUNK", 256)
    tabled = TextSimilarityModel(scanned.embeddings).neighbours_build()

    ids, scores = tabled.similar_items(item, k)
    expected_ids, expected_scores = scanned.similar_items(item, k)

    assert ids.tolist() == expected_ids.tolist()
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
    assert item not in ids.tolist()
    assert (np.diff(scores) <= 0).all()


def test_asking_beyond_the_table_scans_the_catalog(scanned):
    tabled = TextSimilarityModel(scanned.embeddings).neighbours_build(k=5)

    ids, _ = tabled.similar_items(3, 20)

    assert ids.tolist() == scanned.similar_items(3, 20)[0].tolist()


def test_the_table_is_saved_with_the_model_and_mapped_back(scanned, tmp_path):
    tabled = TextSimilarityModel(scanned.embeddings).neighbours_build(k=20)
    config, arrays = tabled.to_state()
    save_arrays(tmp_path / "text", config, arrays)

    config, arrays = load_arrays(tmp_path / "text", mapped=True)
    loaded = TextSimilarityModel.from_state(config, arrays)

    assert loaded.neighbours.shape == (1500, 20)
    assert loaded.similar_items(42, 20)[0].tolist() == scanned.similar_items(42, 20)[0].tolist()


def test_an_artifact_without_a_table_still_serves_similar_items(scanned, tmp_path):
    config, arrays = scanned.to_state()
    save_arrays(tmp_path / "text", config, arrays)

    loaded = TextSimilarityModel.from_state(*load_arrays(tmp_path / "text", mapped=True))

    assert loaded.neighbours is None
    assert loaded.similar_items(42, 10)[0].tolist() == scanned.similar_items(42, 10)[0].tolist()


def test_a_one_item_catalog_has_no_neighbours():
    model = TextSimilarityModel(unit_embeddings(1)).neighbours_build()

    ids, scores = model.similar_items(0, 10)

    assert ids.tolist() == [] and scores.tolist() == []
