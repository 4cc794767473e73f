"""Each process's copy of a shop's catalog: the item fields a page needs and the text embeddings.

A page reads hundreds of items and their vectors; loading them per request cost most of an uncached
page. The copy is read once per process; after that, whenever the shop's catalog token moves (an item
upsert or an embedding refresh) it reads only the rows written since it last read (every write is stamped
by a database trigger, `catalog.selectors.item_changes`), so a write to a few items costs a few rows, not
the catalog, and `available` stays as current as the catalog writes.

Web workers are sync processes, one request at a time: a snapshot changes in place, between requests.
The lock keeps a threaded server (runserver, the test server) from reading one change twice. A whole new
read (a tenth of the catalog changed at once, an encoder promoted, a snapshot left unchecked for long) is
built by a thread of the process while requests go on reading the snapshot they have, then swapped in, so
no request waits for it (VITRINE_SNAPSHOT_BUILD_BEHIND; only a process's first read of a shop waits).
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

import numpy as np
from django.conf import settings
from django.db import connection

from catalog.models import Item, Shop
from catalog.selectors import change_watermark, item_changes
from recommender.ml.ann import ann_search, unit_rows
from recommender.ml.topk import RankedMemo, ranked_pairs, top_indices
from recommender.selectors import item_vectors_read
from recommender.services.vector_index import VectorIndex, vector_index_open

from .cache import catalog_token, shop_identity
from .listings import CategoryListings, Matching, NewestFirst

logger = logging.getLogger(__name__)
Ranked = list[tuple[int, float]]

# Every field a page, its rules (blocks, boosts by attribute) or the API reads; the rest stay deferred.
ITEM_FIELDS = (
    "id", "shop_id", "external_id", "title", "category_path", "brand", "price", "currency", "image_url", "available",
    "attributes", "created_at",
)
# Bounds the memory of a process that serves many shops; the least recently served is dropped.
MAX_SHOPS = 16
# Writes that bypass the catalog services (the admin, a script) bump no token: changes are read this often anyway.
CHECK_SECONDS = 60
# Past this many changed rows (or a tenth of the catalog) reading the whole catalog again costs less.
CHANGES_MAX = 1000
# A snapshot not checked for this long may have missed deletions already pruned (catalog.services): read anew.
RELOAD_SECONDS = 1800


class CatalogSnapshot:
    """The shop's items by pk, its available items newest first, and its items' unit vectors, one row each."""

    def __init__(
        self, *, token: str, watermark: int, items: dict[int, Item], vectors: np.ndarray, vector_pks: list[int],
        index: VectorIndex | None = None, indexed_since: list[int] = (),
    ):
        self.token = token
        self.watermark = watermark  # changes are read from this transaction id on
        self.checked_at = self.loaded_at = time.monotonic()
        self.items = items
        self.available_pks = {pk for pk, item in items.items() if item.available}
        self.newest = NewestFirst(items[pk] for pk in self.available_pks)
        self._matrix = unit_rows(vectors)
        self._pks = np.asarray(vector_pks, dtype=np.int64)
        self._count = len(vector_pks)
        self._dropped: list[int] = []  # rows of deleted items, left out of every search
        self.vector_rows = {pk: row for row, pk in enumerate(vector_pks)}
        # A large shop's vectors are searched in its index, and those written since it was built by a scan.
        self._index = index
        self._unindexed: set[int] = set(indexed_since)
        self.ranked_newest: dict[tuple[int, str], Ranked] = {}
        self._matching: dict[Hashable, Matching] = {}
        self._categories: CategoryListings | None = None  # listed at the first category asked for
        self._neighbours = RankedMemo()  # nearest items by text ("Because you viewed", similar items)

    @property
    def vectors(self) -> np.ndarray:
        return self._matrix[: self._count]

    @property
    def vector_pks(self) -> np.ndarray:
        return self._pks[: self._count]

    @property
    def vectors_state(self) -> tuple:
        """Changes whenever a row is added or dropped (what a model's items are told apart from)."""
        return (self.loaded_at, self._count, len(self._dropped))

    def vector(self, pk: int) -> np.ndarray | None:
        row = self.vector_rows.get(pk)
        return None if row is None else self._matrix[row]

    def nearest(self, vector: np.ndarray, *, k: int, leave_out: int | None = None) -> Ranked:
        """The k embedded items closest to a unit `vector` by cosine similarity, best first: exact below
        `VITRINE_ANN_MIN_ITEMS` vectors, from the shop's index (and a scan of what it lacks) above."""
        if not self.vector_rows or vector.shape[0] != self._matrix.shape[1]:
            return []
        if self._index is not None:
            return self._nearest_indexed(vector, k=k, leave_out=leave_out)
        scores = self.vectors @ vector
        row = self.vector_rows.get(leave_out) if leave_out is not None else None
        top = top_indices(scores, k, exclude=self._dropped if row is None else [*self._dropped, row])
        return ranked_pairs(self.vector_pks, top, scores[top])

    def item_nearest(self, pk: int, *, k: int) -> Ranked:
        """The k embedded items closest to item `pk` by text, never itself; remembered until a vector is written or
        an item deleted."""
        vector = self.vector(pk)
        if vector is None:
            return []
        return self._neighbours.ranked((pk, k), lambda: self.nearest(vector, k=k, leave_out=pk))

    def _nearest_indexed(self, vector: np.ndarray, *, k: int, leave_out: int | None) -> Ranked:
        # The index's copies of vectors written since, and of deleted items, are passed over: ask for enough more.
        found = ann_search(self._index.index, vector, k + len(self._unindexed) + len(self._dropped) + 1)
        ranked = [
            (pk, score) for pk, score in found if pk in self.vector_rows and pk not in self._unindexed and pk != leave_out
        ]
        rows = [self.vector_rows[pk] for pk in self._unindexed if pk in self.vector_rows and pk != leave_out]
        if rows:
            ranked += zip(self._pks[rows].tolist(), (self._matrix[rows] @ vector).tolist())
        return sorted(ranked, key=lambda pair: -pair[1])[:k]

    def newest_items(self, *, k: int, category: str = "") -> Ranked:
        """Available items (in `category` and its subcategories), newest first, scored by recency rank.

        Listed once per catalog change and asked for by several rails of every page: callers must not change it.
        """
        ranked = self.ranked_newest.get((k, category))
        if ranked is None:
            pks = self.category_items(category=category, k=k) if category else self.newest.pks[:k]
            ranked = self.ranked_newest[k, category] = [(pk, float(len(pks) - rank)) for rank, pk in enumerate(pks)]
        return ranked

    def items_matching(self, key: Hashable, matches: Callable[[Item], bool], *, k: int) -> list[int]:
        """Available items that `matches`, newest first, at most k; listed once for each `key`, which must name
        what `matches` tests, and kept as items change."""
        if key not in self._matching:
            self._matching[key] = Matching(matches, self.newest, self.items)
        return self._matching[key].listing.pks[:k]

    def category_items(self, *, category: str, k: int) -> list[int]:
        """Available items of `category` and its subcategories, newest first."""
        if self._categories is None:
            self._categories = CategoryListings(self.newest, self.items)
        return self._categories.pks(category)[:k]

    def changes_apply(self, *, written: list[Item], removed: list[int], vectors: np.ndarray, vector_pks: list[int]) -> bool:
        """Take in items written and deleted and vectors written since the last read; False where the vectors'
        width is not this snapshot's (a new encoder): then only a whole new snapshot is consistent."""
        if vector_pks and self._count and vectors.shape[1] != self._matrix.shape[1]:
            return False
        for pk in removed:
            self._item_write(pk, None)
            self._vector_drop(pk)
        for item in written:
            self._item_write(item.pk, item)
        self._vectors_put(unit_rows(vectors), vector_pks)
        if self._index is not None:
            self._unindexed.update(vector_pks)
        if removed or vector_pks:
            self._neighbours.clear()
        self.ranked_newest.clear()
        return True

    def _listings(self) -> Iterable:
        yield self.newest
        yield from self._matching.values()
        if self._categories is not None:
            yield self._categories

    def _item_write(self, pk: int, item: Item | None) -> None:
        """Item `pk` written as `item` (None: deleted): it leaves the listings it no longer belongs in and enters
        the new ones; in those it stays in, with its place unchanged, nothing moves."""
        old = self.items.pop(pk, None)
        if item is not None:
            self.items[pk] = item
        listed = old if old is not None and pk in self.available_pks else None
        available = item if item is not None and item.available else None
        if available is None:
            self.available_pks.discard(pk)
        else:
            self.available_pks.add(pk)
        for listing in self._listings():
            listing.move(listed, available)

    def _vector_drop(self, pk: int) -> None:
        row = self.vector_rows.pop(pk, None)
        if row is not None:
            self._matrix[row] = 0
            self._pks[row] = -1
            self._dropped.append(row)

    def _vectors_put(self, vectors: np.ndarray, pks: list[int]) -> None:
        new = [pk for pk in pks if pk not in self.vector_rows]
        self._rows_reserve(self._count + len(new), width=vectors.shape[1] if len(pks) else 0)
        for pk in new:
            self.vector_rows[pk] = self._count
            self._pks[self._count] = pk
            self._count += 1
        if pks:
            self._matrix[[self.vector_rows[pk] for pk in pks]] = vectors

    def _rows_reserve(self, rows: int, *, width: int) -> None:
        if rows <= len(self._matrix) and (width == 0 or self._matrix.shape[1] == width):
            return
        # An eighth more than asked: the vectors of the next new items go in spare rows, not in another copy.
        grown = rows + rows // 8 + 64
        matrix = np.zeros((grown, width or self._matrix.shape[1]), dtype=np.float32)
        matrix[: self._count] = self._matrix[: self._count]
        pks = np.full(grown, -1, dtype=np.int64)
        pks[: self._count] = self._pks[: self._count]
        self._matrix, self._pks = matrix, pks


_snapshots: OrderedDict[str, CatalogSnapshot] = OrderedDict()
_lock = threading.Lock()
_building: set[str] = set()  # the shops a whole new snapshot is being read for, behind the requests


def _snapshot_load(shop: Shop, token: str) -> CatalogSnapshot:
    # The watermark first: whatever commits while the rows are read is read again as a change.
    watermark = change_watermark()
    items = {item.pk: item for item in Item.objects.filter(shop=shop).only(*ITEM_FIELDS)}
    vectors, vector_pks = item_vectors_read(shop=shop)
    index = vector_index_open(shop=shop) if len(vector_pks) >= settings.VITRINE_ANN_MIN_ITEMS else None
    indexed_since = item_vectors_read(shop=shop, since=index.watermark)[1] if index else []
    return CatalogSnapshot(
        token=token, watermark=watermark, items=items, vectors=vectors, vector_pks=vector_pks, index=index,
        indexed_since=indexed_since,
    )


def _changes_read(snapshot: CatalogSnapshot, shop: Shop, token: str) -> bool:
    """Bring the snapshot up to date with the rows written since its watermark; False where a whole new read
    costs less or is needed."""
    watermark = change_watermark()
    written, removed = item_changes(shop=shop, since=snapshot.watermark, fields=ITEM_FIELDS)
    if len(written) + len(removed) > max(CHANGES_MAX, len(snapshot.items) // 10):
        return False
    vectors, vector_pks = item_vectors_read(shop=shop, since=snapshot.watermark)
    if not snapshot.changes_apply(written=written, removed=removed, vectors=vectors, vector_pks=vector_pks):
        return False
    snapshot.token, snapshot.watermark, snapshot.checked_at = token, watermark, time.monotonic()
    return True


def catalog_snapshot(*, shop: Shop) -> CatalogSnapshot:
    """The shop's catalog as of its current token: loaded in this process once, then kept up to date."""
    key = shop_identity(shop)
    # The token is read before the rows: a write landing in between bumps it again, so it is read once more.
    token = catalog_token(shop=shop)
    with _lock:
        snapshot = _snapshots.get(key)
        if snapshot is None:
            snapshot = _snapshots[key] = _snapshot_load(shop, token)
        elif key not in _building:
            since_check = time.monotonic() - snapshot.checked_at
            stale = since_check > RELOAD_SECONDS
            if not stale and (snapshot.token != token or since_check > CHECK_SECONDS):
                stale = not _changes_read(snapshot, shop, token)
            if stale:
                snapshot = _snapshot_rebuild(key, shop, token) or snapshot
        _snapshots.move_to_end(key)
        while len(_snapshots) > MAX_SHOPS:
            _snapshots.popitem(last=False)
    return snapshot


def _snapshot_rebuild(key: str, shop: Shop, token: str) -> CatalogSnapshot | None:
    """Read the shop's whole catalog anew: now, returning it, or (VITRINE_SNAPSHOT_BUILD_BEHIND) by a thread
    that swaps it in when done, returning None (the caller goes on with the snapshot it has)."""
    if not settings.VITRINE_SNAPSHOT_BUILD_BEHIND:
        _snapshots[key] = _snapshot_load(shop, token)
        return _snapshots[key]
    _building.add(key)
    threading.Thread(target=_snapshot_build_behind, args=(key, shop, token), name=f"snapshot-{key}", daemon=True).start()
    return None


def _snapshot_build_behind(key: str, shop: Shop, token: str) -> None:
    try:
        fresh = _snapshot_load(shop, token)
        with _lock:
            _snapshots[key] = fresh
    except Exception:
        # The snapshot in place goes on serving; the next request that finds it stale tries again.
        logger.exception("Shop %s: reading the catalog anew failed", shop.slug)
    finally:
        connection.close()  # the thread's own connection
        with _lock:
            _building.discard(key)


def catalog_snapshot_recheck(*, shop: Shop) -> None:
    """Have the next page read the shop's catalog changes: this snapshot was seen to disagree with the database."""
    snapshot = _snapshots.get(shop_identity(shop))
    if snapshot is not None:
        snapshot.token = ""
