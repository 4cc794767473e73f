"""Scored candidates from every serving model, read online from the shopper's events up to now."""

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


def candidates_cache_key(shopper: Shopper) -> str:
    # One entry per shopper, replaced as they act: keyed by their latest event, the cache would keep an
    # entry for every event for hours.
    return f"candidates:{shopper.shop_id}:{shopper.pk}"


def _cache_stamp(version_ids: list[int], last_event: int | None) -> list:
    """What the candidates were scored from: a click or a promote makes them stale."""
    return [last_event, sorted(version_ids)]


def _score(versions: list[ModelVersion], shopper: Shopper | None, k: int, events: list[tuple[int, str]]) -> Candidates:
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
        scores = score_history(version.family, loaded.model, items, types)
        top = top_indices(scores, k, exclude=np.unique(items))
        candidates[version.family] = ranked_pairs(loaded.item_pks, top, scores[top])
    return candidates


def candidates_for(
    *,
    shopper: Shopper | None,
    k: int = 100,
    shop: Shop | None = None,
    versions: list[ModelVersion] | None = None,
    recent: RecentEvents | None = None,
) -> Candidates:
    """Per serving family, the top-k (item pk, score) for this shopper, items they already have left out.

    An unknown shopper (None) or one who opted out gets popularity alone. Precomputed candidates
    are used while the shopper has no newer event and the serving versions are the same.
    `versions` are the shop's serving versions and `recent` the shopper's latest events, when the
    caller has read them already.
    """
    if versions is None:
        versions = active_versions(shop=shop or shopper.shop)
    if shopper is None:
        return _score(versions, None, k, [])
    if recent is None:
        recent = shopper_recent_events(shopper=shopper, limit=settings.VITRINE_SEQUENCE_LENGTH)
    key, stamp = candidates_cache_key(shopper), _cache_stamp([version.pk for version in versions], recent.last_event_pk)
    cached = cache.get(key)
    if cached is not None and cached["stamp"] == stamp and cached["k"] >= k:
        return {family: ranked[:k] for family, ranked in cached["candidates"].items()}
    candidates = _score(versions, shopper, k, recent.events[-settings.VITRINE_SEQUENCE_LENGTH :])
    cache.set(key, {"stamp": stamp, "k": k, "candidates": candidates}, CACHE_SECONDS)
    return candidates


def _single_thread() -> None:
    # One shopper's scoring is tiny: more threads only add contention between concurrent requests.
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
