"""A large shop's similar items come from an approximate index a worker builds: as good as an exact scan on a planted
set, and as current as the catalog (vectors written or items deleted since the build)."""

import numpy as np
import pytest

from catalog.models import Item
from homepage.cache import homepage_catalog_changed
from homepage.snapshot import catalog_snapshot
from recommender.ml.ann import graph_for
from recommender.models import TEXT_DIMENSIONS, ItemEmbedding
from recommender.services import vector_indexes_refresh
from recommender.services.vector_index import vector_index_stale
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db
ITEMS = 3000
CLUSTERS = 60


def _clustered(count: int, seed: int = 0) -> np.ndarray:
    """Vectors in tight clusters, as text embeddings of a catalog's kinds of items are."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, TEXT_DIMENSIONS)).astype(np.float32)
    vectors = centres[rng.integers(0, CLUSTERS, count)] + 0.5 * rng.standard_normal((count, TEXT_DIMENSIONS)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _embedded(item: Item, vector: np.ndarray) -> ItemEmbedding:
    return ItemEmbedding(item=item, encoder="test", text_hash="test", vector=vector.tolist())


@pytest.fixture
def large_shop(shop_a, settings, tmp_path):
    settings.VITRINE_ANN_MIN_ITEMS = 1000
    settings.VITRINE_ARTIFACTS_DIR = tmp_path
    items = Item.objects.bulk_create([ItemFactory.build(shop=shop_a, external_id=f"i-{n}") for n in range(ITEMS)])
    vectors = _clustered(ITEMS)
    ItemEmbedding.objects.bulk_create([_embedded(item, vector) for item, vector in zip(items, vectors)])
    return shop_a, items, vectors


def _exact(vectors: np.ndarray, pks: list[int], query: np.ndarray, k: int, leave_out: int) -> list[int]:
    order = np.argsort(-(vectors @ query))
    return [pks[row] for row in order if pks[row] != leave_out][:k]


def test_the_index_finds_what_an_exact_scan_finds_for_nine_in_ten_neighbours_or_more(large_shop):
    shop, items, vectors = large_shop
    assert vector_indexes_refresh() == [shop.slug]
    snapshot = catalog_snapshot(shop=shop)
    assert snapshot._index is not None  # served by the index, not a scan
    # Mapped from its file, it searches as broadly as it was built to (a restored usearch index would not).
    assert snapshot._index.index.expansion_search == graph_for(ITEMS).expansion_search
    pks = [item.pk for item in items]

    found = total = 0
    for row in np.random.default_rng(1).choice(ITEMS, 100, replace=False):
        approximate = [pk for pk, _ in snapshot.nearest(vectors[row], k=10, leave_out=pks[row])]
        found += len(set(approximate) & set(_exact(vectors, pks, vectors[row], 10, pks[row])))
        total += 10

    assert found / total >= 0.95


@pytest.mark.django_db(transaction=True)  # committed: a snapshot reads as changed only what comes after the build
def test_vectors_written_and_items_deleted_after_the_build_are_taken_in(large_shop):
    shop, items, vectors = large_shop
    vector_indexes_refresh()
    snapshot = catalog_snapshot(shop=shop)
    query = vectors[0]
    twin = ItemFactory(shop=shop, external_id="twin")
    ItemEmbedding.objects.create(item=twin, encoder="test", text_hash="test", vector=query.tolist())
    moved = items[1]
    ItemEmbedding.objects.filter(item=moved).update(vector=(-query).tolist())  # now the farthest there is
    nearest_before = [pk for pk, _ in snapshot.nearest(query, k=3, leave_out=items[0].pk)]
    Item.objects.filter(pk=nearest_before[0]).delete()
    homepage_catalog_changed(shop=shop)

    assert catalog_snapshot(shop=shop) is snapshot
    nearest = [pk for pk, _ in snapshot.nearest(query, k=10, leave_out=items[0].pk)]
    assert nearest[0] == twin.pk
    assert moved.pk not in nearest and nearest_before[0] not in nearest
    assert len(nearest) == 10


@pytest.mark.django_db(transaction=True)
def test_an_index_is_built_again_only_once_vectors_changed_and_never_for_a_small_shop(large_shop, settings):
    shop, items, vectors = large_shop
    assert vector_index_stale(shop=shop)
    vector_indexes_refresh()
    assert not vector_index_stale(shop=shop)

    ItemEmbedding.objects.filter(item=items[5]).update(vector=vectors[6].tolist())
    assert vector_index_stale(shop=shop)

    settings.VITRINE_ANN_MIN_ITEMS = ITEMS + 10
    assert not vector_index_stale(shop=shop) and vector_indexes_refresh() == []
