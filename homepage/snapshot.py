"""Each process's copy of a shop's catalog: the item fields a page needs and the text embeddings.

A page reads hundreds of items and their vectors; loading them per request cost most of an uncached
page. The copy is read once per process and again when the shop's catalog token changes (an item
upsert or an embedding refresh), so `available` stays as current as the catalog writes.
"""

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np
from django.db import connection

from catalog.models import Item, Shop
from recommender.ml.topk import ranked_pairs, top_indices
from recommender.models import ItemEmbedding

from .cache import catalog_token, shop_identity

Ranked = list[tuple[int, float]]

# Every field a page, its rules (blocks, boosts by attribute) or the API reads; the rest stay deferred.
ITEM_FIELDS = (
    "id", "shop_id", "external_id", "title", "category_path", "brand", "price", "currency", "image_url", "available",
    "attributes", "created_at",
)
# Bounds the memory of a process that serves many shops; the least recently served is dropped.
MAX_SHOPS = 16
# Writes that bypass the catalog services (the admin, a script) bump no token: a snapshot is read again this often.
MAX_AGE_SECONDS = 600


@dataclass(frozen=True)
class CatalogSnapshot:
    token: str
    loaded_at: float
    items: dict[int, Item]
    newest: list[Item]  # available items, newest first
    available_pks: frozenset[int]
    vectors: np.ndarray  # L2-normalised text embeddings, one row per embedded item
    vector_pks: np.ndarray  # the item of each row
    vector_rows: dict[int, int]
    ranked_newest: dict[tuple[int, str], Ranked] = field(default_factory=dict)
    matching: dict[Hashable, list[int]] = field(default_factory=dict)

    def vector(self, pk: int) -> np.ndarray | None:
        row = self.vector_rows.get(pk)
        return None if row is None else self.vectors[row]

    def nearest(self, vector: np.ndarray, *, k: int, leave_out: int | None = None) -> Ranked:
        """The k embedded items closest to a unit `vector` by cosine similarity, best first."""
        if not len(self.vector_rows) or vector.shape[0] != self.vectors.shape[1]:
            return []
        scores = self.vectors @ vector
        row = self.vector_rows.get(leave_out) if leave_out is not None else None
        top = top_indices(scores, k, exclude=[] if row is None else [row])
        return ranked_pairs(self.vector_pks, top, scores[top])

    def newest_items(self, *, k: int, category: str = "") -> Ranked:
        """Available items (in `category` and its subcategories), newest first, scored by recency rank.

        Listed once per snapshot and asked for by several rails of every page: callers must not change it.
        """
        ranked = self.ranked_newest.get((k, category))
        if ranked is None:
            pks = self.category_items(category=category, k=k) if category else [item.id for item in self.newest[:k]]
            ranked = self.ranked_newest[k, category] = [(pk, float(len(pks) - rank)) for rank, pk in enumerate(pks)]
        return ranked

    def items_matching(self, key: Hashable, matches: Callable[[Item], bool], *, k: int) -> list[int]:
        """Available items that `matches`, newest first, at most k; listed once per snapshot for each `key`,
        which must name what `matches` tests."""
        if key not in self.matching:
            self.matching[key] = [item.pk for item in self.newest if matches(item)]
        return self.matching[key][:k]

    def category_items(self, *, category: str, k: int) -> list[int]:
        """Available items of `category` and its subcategories, newest first."""
        return self.items_matching(("category", category), lambda item: item.in_category(category), k=k)


_snapshots: OrderedDict[str, CatalogSnapshot] = OrderedDict()


def _vectors_load(shop: Shop) -> tuple[np.ndarray, list[int]]:
    # vector_send's binary form, not the ORM's text form: parsing 12,000 vectors of text takes seconds.
    table = ItemEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.item_id, vector_send(e.vector) FROM {table} e JOIN {Item._meta.db_table} i ON i.id = e.item_id "
            "WHERE i.shop_id = %s ORDER BY e.item_id",
            [shop.pk],
        )
        rows = cursor.fetchall()
    if not rows:
        return np.zeros((0, 0), dtype=np.float32), []
    # Each value: a 2-byte dimension count, 2 unused bytes, then big-endian float4s.
    matrix = np.frombuffer(b"".join(bytes(blob)[4:] for _, blob in rows), dtype=">f4").astype(np.float32)
    matrix = matrix.reshape(len(rows), -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=matrix.copy(), where=norms > 0)
    return matrix, [pk for pk, _ in rows]


def _snapshot_load(shop: Shop, token: str) -> CatalogSnapshot:
    items = {item.pk: item for item in Item.objects.filter(shop=shop).only(*ITEM_FIELDS)}
    newest = sorted((item for item in items.values() if item.available), key=lambda item: (item.created_at, item.pk), reverse=True)
    vectors, vector_pks = _vectors_load(shop)
    return CatalogSnapshot(
        token=token, loaded_at=time.monotonic(), items=items, newest=newest, available_pks=frozenset(item.pk for item in newest),
        vectors=vectors, vector_pks=np.asarray(vector_pks, dtype=np.int64),
        vector_rows={pk: row for row, pk in enumerate(vector_pks)},
    )


def catalog_snapshot(*, shop: Shop) -> CatalogSnapshot:
    """The shop's catalog as of its current token, loaded in this process when the token moved."""
    key = shop_identity(shop)
    # The token is read before the rows: a write landing in between bumps it again, so it is read once more.
    token = catalog_token(shop=shop)
    snapshot = _snapshots.get(key)
    if snapshot is None or snapshot.token != token or time.monotonic() - snapshot.loaded_at > MAX_AGE_SECONDS:
        snapshot = _snapshot_load(shop, token)
        _snapshots[key] = snapshot
    _snapshots.move_to_end(key)
    while len(_snapshots) > MAX_SHOPS:
        _snapshots.popitem(last=False)
    return snapshot


def catalog_snapshot_expire(*, shop: Shop) -> None:
    """Drop this process's snapshot of the shop: it was seen to disagree with the database."""
    _snapshots.pop(shop_identity(shop), None)
