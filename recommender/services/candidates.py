"""Scored candidates from every serving model, read online from the shopper's events up to now.

Given the catalog's current item vectors (a web process's snapshot), the sequential model also scores the
items embedded since it was trained, by their text alone: a new item can be "Picked for you" before the
model is trained again.
"""

from collections import OrderedDict
from typing import Protocol

import numpy as np
from django.conf import settings
from django.core.cache import cache

from catalog.models import Shop, Shopper

from ..ml.topk import ranked_pairs, top_indices
from ..models import Family, ModelVersion
from ..selectors import RecentEvents, active_versions, shopper_recent_events
from .registry import model_load

CACHE_SECONDS = 6 * 3600

Candidates = dict[str, list[tuple[int, float]]]
# Per (model version, vector store state), the store's items outside the model: a handful of shops' worth.
OUTSIDE_KEPT = 32


class VectorStore(Protocol):
    """The catalog's current item vectors, one row per pk (homepage.snapshot.CatalogSnapshot is one)."""

    vector_pks: np.ndarray
    vectors: np.ndarray

    @property
    def vectors_state(self) -> tuple: ...  # changes whenever rows are added or dropped


_outside: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()


def candidates_cache_key(shopper: Shopper) -> str:
    # One entry per shopper, replaced as they act: keyed by their latest event, the cache would keep an
    # entry for every event for hours.
    return f"candidates:{shopper.shop_id}:{shopper.pk}"


def _cache_stamp(version_ids: list[int], last_event: int | None, store: VectorStore | None) -> list:
    """What the candidates were scored from: a click, a promote or a newly embedded item makes them stale."""
    return [last_event, sorted(version_ids), None if store is None else len(store.vector_pks)]


def _vectors_outside(version: ModelVersion, item_pks: np.ndarray, store: VectorStore) -> tuple[np.ndarray, np.ndarray]:
    """The pks and vectors of the store's items that the version's model never saw: embedded since its training."""
    key = (version.pk, store.vectors_state)
    if key not in _outside:
        pks = store.vector_pks
        outside = np.flatnonzero((pks >= 0) & ~np.isin(pks, item_pks))  # a dropped row's pk is -1
        _outside[key] = (pks[outside], store.vectors[outside])
        while len(_outside) > OUTSIDE_KEPT:
            _outside.popitem(last=False)
    _outside.move_to_end(key)
    return _outside[key]


def _score(
    versions: list[ModelVersion], shopper: Shopper | None, k: int, events: list[tuple[int, str]], store: VectorStore | None = None
) -> Candidates:
    from recommender.ml.trainer import EVENT_TYPE_CODES, score_history

    personal = shopper is not None and not shopper.personalization_opt_out
    events = events if personal else []
    _single_thread()
    candidates: Candidates = {}
    for version in versions:
        if version.family == Family.FINETUNED_TEXT:
            continue  # an encoder scores nobody: the text and sequential families carry its vectors
        if not personal and version.family != Family.POPULARITY:
            continue
        loaded = model_load(version=version)
        known = [(loaded.item_index[pk], EVENT_TYPE_CODES[kind]) for pk, kind in events if pk in loaded.item_index]
        items = np.asarray([index for index, _ in known], dtype=np.int64)
        if version.family != Family.POPULARITY and len(items) == 0:
            continue
        types = np.asarray([code for _, code in known], dtype=np.int64)
        pks, new_vectors = loaded.item_pks, None
        if version.family == Family.SEQUENTIAL and store is not None:
            new_pks, new_vectors = _vectors_outside(version, loaded.item_pks, store)
        scores = score_history(version.family, loaded.model, items, types, new_vectors=new_vectors)
        if len(scores) > len(pks):  # the new items' scores follow the model's own
            pks = np.concatenate([pks, new_pks])
        top = top_indices(scores, k, exclude=np.unique(items))
        candidates[version.family] = ranked_pairs(pks, top, scores[top])
    return candidates


def candidates_for(
    *,
    shopper: Shopper | None,
    k: int = 100,
    shop: Shop | None = None,
    versions: list[ModelVersion] | None = None,
    recent: RecentEvents | None = None,
    store: VectorStore | None = None,
) -> Candidates:
    """Per serving family, the top-k (item pk, score) for this shopper, items they already have left out.

    An unknown shopper (None) or one who opted out gets popularity alone. Precomputed candidates
    are used while the shopper has no newer event, the serving versions are the same and no item was
    embedded since. `versions` are the shop's serving versions and `recent` the shopper's latest events,
    when the caller has read them already; with `store`, the catalog's current vectors, the sequential
    model scores the items it never saw too.
    """
    if versions is None:
        versions = active_versions(shop=shop or shopper.shop)
    if shopper is None:
        return _score(versions, None, k, [], store)
    if recent is None:
        recent = shopper_recent_events(shopper=shopper, limit=settings.VITRINE_SEQUENCE_LENGTH)
    key, stamp = candidates_cache_key(shopper), _cache_stamp([version.pk for version in versions], recent.last_event_pk, store)
    cached = cache.get(key)
    if cached is not None and cached["stamp"] == stamp and cached["k"] >= k:
        return {family: ranked[:k] for family, ranked in cached["candidates"].items()}
    candidates = _score(versions, shopper, k, recent.events[-settings.VITRINE_SEQUENCE_LENGTH :], store)
    cache.set(key, {"stamp": stamp, "k": k, "candidates": candidates}, CACHE_SECONDS)
    return candidates


def _single_thread() -> None:
    # One shopper's scoring is tiny: more threads only add contention between concurrent requests.
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
