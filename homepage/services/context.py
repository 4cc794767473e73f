"""What one page request knows: the shopper's recent behaviour, the live rules and the model candidates.

Everything here is read once per page and shared by its rails, so a page of eight rails costs
the same few queries as a page of one.
"""

import logging
from collections import ChainMap, Counter
from collections.abc import Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from itertools import repeat

import numpy as np
from django.conf import settings

from catalog.models import EventType, Item, Shop, Shopper
from recommender.ml.blend import CANDIDATES
from recommender.models import Family, ItemEmbedding, ModelVersion, ShopperProfile
from recommender.ml.nets.text_encoder import query_normalized
from recommender.selectors import RecentEvents, query_vector_read

from .. import selectors
from ..rulebook import Rulebook, rulebook, rulebook_substituted
from ..rules import AdjustmentRule, BlockRule, PinRule
from ..snapshot import CatalogSnapshot, catalog_snapshot

logger = logging.getLogger(__name__)

# The page reads as many of the shopper's latest events as the sequential model does, and hands them to it.
HISTORY_LIMIT = settings.VITRINE_SEQUENCE_LENGTH
BOUGHT_RECENTLY_DAYS = 30
ENGAGED_TYPES = (EventType.VIEW, EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE, EventType.RATING)
RECENCY_DECAY = 0.9

Ranked = list[tuple[int, float]]


@dataclass(frozen=True)
class Search:
    words: str  # as the shopper typed them
    vector: np.ndarray  # unit, from the serving encoder


@dataclass
class PageContext:
    shop: Shop
    shopper: Shopper | None
    now: datetime
    debug: bool = False
    holdout: bool = False  # an experiment's holdout variant: served as an opted-out shopper is
    exclude: set[int] = field(default_factory=set)
    placed: set[int] = field(default_factory=set)
    history: list[tuple[int, str]] = field(default_factory=list)  # (item pk, event type), newest first
    last_event_pk: int | None = None  # the highest event id in the history
    last_event_at: datetime | None = None  # when the newest of the history happened
    search_pending: bool = False  # their latest search counts, but its words are not embedded yet
    disliked: set[int] = field(default_factory=set)
    bought_recently: set[int] = field(default_factory=set)
    blocks: list[BlockRule] = field(default_factory=list)
    adjustments: list[AdjustmentRule] = field(default_factory=list)
    pins: dict[int, list[PinRule]] = field(default_factory=dict)  # by rail pk
    rules: Rulebook | None = None
    versions: dict[str, ModelVersion] = field(default_factory=dict)  # serving version by family
    snapshot: CatalogSnapshot | None = None
    items: MutableMapping[int, Item] = field(default_factory=dict)
    _candidates: dict[str, Ranked] | None = None
    _vectors: dict[int, np.ndarray | None] = field(default_factory=dict)

    @property
    def personalized(self) -> bool:
        return self.shopper is not None and not self.shopper.personalization_opt_out and not self.holdout

    @property
    def seed_key(self) -> str:
        # Exploration draws are stable for a shopper through a day, so asking for page 2 recomposes
        # the same page 1; unknown shoppers share one cold-start page (and one cache entry).
        who = self.shopper.pk if self.personalized else "anonymous"
        return f"{self.shop.pk}:{who}:{self.now.date().isoformat()}"

    @cached_property
    def latest_search(self) -> Search | None:
        """The shopper's latest search words and their vector, where nothing they did since named an item and the
        words are embedded (a worker embeds them within seconds of the search)."""
        if not self.personalized:
            return None
        found = selectors.shopper_latest_search(shopper=self.shopper)
        if found is None or (self.last_event_at is not None and found[1] <= self.last_event_at):
            return None
        vector = query_vector_read(shop=self.shop, text=query_normalized(found[0]))
        self.search_pending = vector is None
        return None if vector is None else Search(words=found[0], vector=_unit(vector))

    @cached_property
    def own_items(self) -> set[int]:
        # The history is read once, before any rail: every rail leaves out the same items.
        return {pk for pk, kind in self.history if kind in ENGAGED_TYPES}

    def items_load(self, pks) -> None:
        # Only items newer than the snapshot (written by something that bumped no token) cost a query.
        missing = [pk for pk in pks if pk not in self.items]
        if missing:
            self.items.update(Item.objects.filter(shop=self.shop, pk__in=missing).in_bulk())

    def vectors(self, pks: list[int]) -> dict[int, np.ndarray | None]:
        snapshot_items = self.snapshot.items if self.snapshot else {}
        for pk in pks:
            if pk in snapshot_items and pk not in self._vectors:
                self._vectors[pk] = self.snapshot.vector(pk)
        missing = [pk for pk in pks if pk not in self._vectors]
        if missing:
            found = dict(ItemEmbedding.objects.filter(item_id__in=missing).values_list("item_id", "vector"))
            for pk in missing:
                vector = found.get(pk)
                self._vectors[pk] = None if vector is None else _unit(np.asarray(vector, dtype=np.float32))
        return {pk: self._vectors[pk] for pk in pks}

    def vector_matrix(self, pks: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The unit vectors of `pks`, one row each (zeros where an item has none), and which items have one.

        Gathered from the snapshot's matrix in one step; only items it lacks are looked up one by one.
        """
        vector_rows = self.snapshot.vector_rows
        rows = np.fromiter(map(vector_rows.get, pks, repeat(-1)), dtype=np.int64, count=len(pks))
        embedded = rows >= 0
        if embedded.all():
            return self.snapshot.vectors[rows], embedded
        others = self.vectors([pk for pk, row in zip(pks, rows) if row < 0])
        width = self.snapshot.vectors.shape[1] or next((len(vector) for vector in others.values() if vector is not None), 0)
        matrix = np.zeros((len(pks), width), dtype=np.float32)
        if embedded.any():
            matrix[embedded] = self.snapshot.vectors[rows[embedded]]
        for index in np.flatnonzero(~embedded):
            vector = others[pks[index]]
            if vector is not None:
                matrix[index], embedded[index] = vector, True
        return matrix, embedded

    def candidates(self) -> dict[str, Ranked]:
        """Model candidates for this shopper, asked once per page; fallbacks when no model serves."""
        if self._candidates is None:
            self._candidates = self._model_candidates()
            if Family.POPULARITY not in self._candidates:
                self._candidates[Family.POPULARITY] = selectors.popularity_from_counts(shop=self.shop, now=self.now)
        return self._candidates

    def impressions(self, pks: list[int]) -> dict[int, int]:
        """Impressions of these items in the 30 days before now, as counted in the last minute."""
        return selectors.impression_counts_recent(shop=self.shop, item_pks=pks, now=self.now)

    def newest_items(self, *, k: int = 200, category: str = "") -> Ranked:
        return self.snapshot.newest_items(k=k, category=category)

    def category_items(self, *, category: str, k: int = 500) -> list[int]:
        return self.snapshot.category_items(category=category, k=k)

    def _model_candidates(self) -> dict[str, Ranked]:
        if not self.versions:
            return {}
        from recommender.services import candidates_for

        try:
            versions = list(self.versions.values())
            if not self.personalized:
                return dict(_cold_candidates(self.shop, versions))
            recent = RecentEvents(events=self.history[::-1], last_event_pk=self.last_event_pk)
            scored = [version for version in versions if version.family != Family.TEXT]
            candidates = dict(
                candidates_for(shopper=self.shopper, shop=self.shop, k=CANDIDATES, versions=scored, recent=recent, store=self.snapshot)
            )
            if text := self._text_candidates():
                candidates[Family.TEXT] = text
            return candidates
        except Exception:
            # A broken artifact must not take the homepage down: the page falls back to event counts.
            logger.exception("Shop %s: model candidates failed; serving the fallback page", self.shop.slug)
            return {}

    def _text_candidates(self) -> Ranked:
        """The text family's candidates, scored here against the snapshot's vectors rather than by the model's own:
        the one store every text read shares, which takes in items embedded since the model was trained."""
        version = self.versions.get(Family.TEXT)
        if version is None:
            return []
        from recommender.services.registry import model_load

        model = model_load(version=version).model
        history = [pk for pk, _ in reversed(self.history)]  # oldest first, as the model reads it
        matrix, embedded = self.vector_matrix(history)
        if not embedded.any() and self.latest_search is None:
            return []
        vectors = matrix[embedded]
        if self.latest_search is not None:  # the newest interest of all: nothing since named an item
            vectors = np.vstack([vectors, self.latest_search.vector[None, :]]) if len(vectors) else self.latest_search.vector[None, :]
        own = set(history)
        ranked = self.snapshot.nearest(model.profile_of(vectors), k=CANDIDATES + len(own))
        return [(pk, score) for pk, score in ranked if pk not in own][:CANDIDATES]

    def _weighted_history(self) -> Iterator[tuple[Item, float]]:
        """Each item of the shopper's history (newest first) with its event's weight, recent events counting more."""
        self.items_load([pk for pk, _ in self.history])
        for age, (pk, kind) in enumerate(self.history):
            item = self.items.get(pk)
            if item is not None:
                yield item, self.shop.event_weight(kind) * RECENCY_DECAY**age

    def liked_kind(self) -> tuple[str, str] | None:
        """The (brand, category) the shopper engaged with most, recent events counting more, where it carries more
        weight than one view and holds half of their interest or more; None otherwise."""
        scores = Counter()
        for item, weight in self._weighted_history():
            if item.brand and item.category_path:
                scores[item.brand, item.category_path] += weight
        if not scores:
            return None
        (liked, weight), total = scores.most_common(1)[0], sum(scores.values())
        return liked if weight > self.shop.event_weight(EventType.VIEW) and weight >= total / 2 else None

    def top_category(self) -> str:
        """The top-level category the shopper engaged with most, recent events counting more."""
        scores = Counter()
        for item, weight in self._weighted_history():
            if item.top_category and weight > 0:
                scores[item.top_category] += weight
        if scores:
            return scores.most_common(1)[0][0]
        profile = ShopperProfile.objects.filter(shopper=self.shopper).first() if self.shopper else None
        categories = (profile.tags or {}).get("categories", []) if profile else []
        return categories[0].split(" > ")[0] if categories else ""


_cold: dict[int, tuple[tuple[int, ...], dict[str, Ranked]]] = {}  # by shop pk: (serving version ids, candidates)


def _cold_candidates(shop: Shop, serving: list[ModelVersion]) -> dict[str, Ranked]:
    """Candidates for nobody in particular, scored once per process and serving versions.

    They are the popularity model's scores, fixed when it was trained: the same for every
    unknown or opted-out shopper until another version serves.
    """
    from recommender.services import candidates_for

    versions = tuple(sorted(version.pk for version in serving))
    found = _cold.get(shop.pk)
    if found is None or found[0] != versions:
        found = _cold[shop.pk] = (versions, candidates_for(shopper=None, shop=shop, k=CANDIDATES, versions=serving))
    return found[1]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


# The experiment arm the page is composed for (a homepage.arms.Arm), or None.
_arm_served: ContextVar = ContextVar("homepage_experiment_arm", default=None)


@contextmanager
def experiment_arm_served(arm) -> Iterator[None]:
    """Inside the block, pages are composed as the experiment arm serves them: from its draft's rules, with
    its model version in place of its family's serving one, or unpersonalized for a holdout. None: the live page."""
    with ExitStack() as stack:
        if arm is not None and arm.rules is not None:
            stack.enter_context(rulebook_substituted(shop=arm.experiment.shop, rules=arm.rules))
        reset = _arm_served.set(arm)
        try:
            yield
        finally:
            _arm_served.reset(reset)


def page_context_build(
    *,
    shop: Shop,
    shopper: Shopper | None,
    now: datetime,
    exclude: set[int],
    debug: bool = False,
    rules: Rulebook | None = None,
) -> PageContext:
    """What every rail of one page reads; `rules` when the caller has them already."""
    arm = _arm_served.get()
    context = PageContext(
        shop=shop, shopper=shopper, now=now, debug=debug, exclude=set(exclude), holdout=arm is not None and not arm.personalized
    )
    context.versions = {version.family: version for version in selectors.serving_versions(shop=shop)}
    if arm is not None and arm.variant.model_version is not None:
        tried = arm.variant.model_version
        context.versions[tried.family] = tried
    context.snapshot = catalog_snapshot(shop=shop)
    # The page's own layer over the snapshot's items: pinned items and items the snapshot lacks go in it.
    context.items = ChainMap({}, context.snapshot.items)
    if context.personalized:
        _shopper_events_read(context)
    context.rules = rules or rulebook(shop=shop)
    context.blocks = context.rules.live_blocks(now)
    context.adjustments = context.rules.live_adjustments(now)
    context.pins = context.rules.live_pins(now)
    for pins in context.pins.values():
        for pin in pins:
            # The snapshot's copy is as current as the catalog writes; the pin's own, for an item it lacks.
            context.items.setdefault(pin.item_id, pin.item)
    return context


def _shopper_events_read(context: PageContext) -> None:
    """The shopper's latest events (their history) and every dislike and recent purchase, in one query."""
    since = context.now - timedelta(days=BOUGHT_RECENTLY_DAYS)
    history = []
    for pk, kind, occurred_at, event_pk, latest in selectors.shopper_page_events(shopper=context.shopper, limit=HISTORY_LIMIT, since=since):
        if latest:
            history.append((occurred_at, event_pk, pk, kind))
        else:
            (context.disliked if kind == EventType.DISLIKE else context.bought_recently).add(pk)
    history.sort(reverse=True)  # newest first, as the latest events were read
    context.history = [(pk, kind) for _, _, pk, kind in history]
    context.last_event_pk = max((event_pk for _, event_pk, _, _ in history), default=None)
    context.last_event_at = history[0][0] if history else None


def item_blocked(context: PageContext, item: Item) -> BlockRule | None:
    if not context.blocks:  # the common case, asked for every candidate of every rail
        return None
    return next((block for block in context.blocks if block.matches(item)), None)
