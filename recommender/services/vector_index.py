"""An approximate nearest-neighbour index over a large shop's item vectors, built by a worker and mapped read-only by
every web process of the host, so finding items close in text costs a graph walk, not a scan of every vector.

The index (`recommender.ml.ann`) is keyed by item pk, one file per build named by the change watermark it was read
at: a process's catalog snapshot searches it and scans only the vectors written since (see `homepage.snapshot`).
Below `VITRINE_ANN_MIN_ITEMS` vectors there is no index: a scan is exact and fast enough.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.cache import cache

from catalog.models import Shop
from catalog.selectors import change_watermark

from ..ml.ann import ann_build, ann_open, unit_rows
from ..models import ItemEmbedding
from ..selectors import item_vectors_read

logger = logging.getLogger(__name__)
SUFFIX = ".usearch"
# One build of a shop at a time, across workers: a build of a million vectors takes minutes.
BUILD_LOCK_SECONDS = 3600


@dataclass(frozen=True)
class VectorIndex:
    index: object  # usearch.index.Index, mapped from its file
    watermark: int  # the vectors written by transactions from this id on are not in it


def _folder(shop: Shop) -> Path:
    # The shop's creation time beside its pk: a database rebuilt from scratch reuses pks, not timestamps.
    return Path(settings.VITRINE_ARTIFACTS_DIR) / "vector-index" / f"{shop.pk}-{int(shop.created_at.timestamp())}"


def vector_index_build(*, shop: Shop) -> Path | None:
    """Build the shop's index from its current vectors and publish it; None where the shop has too few for one.
    Earlier builds are deleted (a process mapping one keeps reading it until it maps the new one)."""
    watermark = change_watermark()
    vectors, pks = item_vectors_read(shop=shop)
    if len(pks) < settings.VITRINE_ANN_MIN_ITEMS:
        return None
    index = ann_build(np.asarray(pks), unit_rows(vectors), threads=os.cpu_count() or 1)
    folder = _folder(shop)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{watermark}{SUFFIX}"
    partial = path.with_suffix(".partial")
    index.save(str(partial))
    partial.rename(path)  # published whole or not at all
    for older in folder.glob(f"*{SUFFIX}"):
        if older != path:
            older.unlink(missing_ok=True)
    logger.info("Shop %s: vector index of %d items built", shop.slug, len(pks))
    return path


def vector_index_open(*, shop: Shop) -> VectorIndex | None:
    """The shop's latest index, mapped read-only; None where none was built."""
    builds = sorted(_folder(shop).glob(f"*{SUFFIX}"), key=lambda path: int(path.stem))
    if not builds:
        return None
    return VectorIndex(index=ann_open(builds[-1]), watermark=int(builds[-1].stem))


def vector_index_stale(*, shop: Shop) -> bool:
    """Whether the shop is large enough for an index and has vectors written since its latest build (or none)."""
    embedded = ItemEmbedding.objects.filter(item__shop=shop)
    if embedded.count() < settings.VITRINE_ANN_MIN_ITEMS:
        return False
    builds = [int(path.stem) for path in _folder(shop).glob(f"*{SUFFIX}")]
    return not builds or embedded.filter(change_xid__gte=max(builds)).exists()


def vector_indexes_refresh() -> list[str]:
    """Build the index of every shop whose vectors changed since its latest build; returns their slugs. A shop
    another worker is building is left to it."""
    built = []
    for shop in Shop.objects.all():
        lock = f"vector-index-build:{shop.pk}"
        if not vector_index_stale(shop=shop) or not cache.add(lock, 1, BUILD_LOCK_SECONDS):
            continue
        try:
            if vector_index_build(shop=shop) is not None:
                built.append(shop.slug)
        finally:
            cache.delete(lock)
    return built
