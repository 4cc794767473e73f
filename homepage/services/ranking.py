"""The steps that turn a rail's candidates into its slots: filter, blend, adjust, diversify, explore, pin."""

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from itertools import filterfalse, islice
from operator import attrgetter, is_not, itemgetter

import numpy as np

from catalog.models import Item
from recommender.ml.blend import rank_scores

from ..rules import PinRule, RailRule
from .context import PageContext, Ranked, item_blocked

DIVERSITY_POOL_PER_SLOT = 5
DIVERSITY_POOL_MIN = 60
NEW_ITEM_DAYS = 14
RARELY_SHOWN_IMPRESSIONS = 20
EXPLORATION_DRAW_PER_SLOT = 3
# Without embeddings two items are as alike as their categories: the same leaf, the same root, or not.
SAME_CATEGORY_SIMILARITY = 1.0
SAME_ROOT_SIMILARITY = 0.6


@dataclass
class Slotted:
    """One candidate on its way to a slot, with what the console preview shows about it."""

    item: Item
    families: dict[str, float] = field(default_factory=dict)
    relevance: float = 0.0
    diversity_penalty: float = 0.0
    rules: list[str] = field(default_factory=list)
    exploration: bool = False
    pinned: bool = False


def candidates_filter(context: PageContext, pks: list[int], *, leave_out_own: bool, reserved: set[int]) -> list[int]:
    """Candidates that may be shown here, once each in their order: available, not blocked, not disliked,
    not bought recently, not excluded by the request, not already higher on the page, not pinned to another rail."""
    own = context.own_items if leave_out_own else set()
    dropped = context.exclude | context.placed | context.disliked | context.bought_recently | own | reserved
    # Hundreds of candidates per rail: filterfalse and issuperset loop in C.
    candidates = list(filterfalse(dropped.__contains__, dict.fromkeys(pks)))
    # The snapshot's available set answers for nearly every candidate; the few it lacks answer for themselves.
    available = context.snapshot.available_pks
    if not available.issuperset(candidates):
        others = list(filterfalse(available.__contains__, candidates))
        context.items_load(others)
        shown = {pk for pk in others if (item := context.items.get(pk)) is not None and item.available}
        candidates = [pk for pk in candidates if pk in available or pk in shown]
    if context.blocks:
        candidates = [pk for pk in candidates if not item_blocked(context, context.items[pk])]
    return candidates


def _ranked_rows(ranked: Ranked, index: dict[int, int]) -> np.ndarray:
    """Rows (positions in the candidate list) of a family's candidates that were kept, best first, once each."""
    by_score = sorted(ranked, key=itemgetter(1), reverse=True)  # reverse keeps ties in their order too
    rows = map(index.get, map(itemgetter(0), by_score))
    # An index array, converted once: numpy converts a list index again at every use.
    return np.fromiter(dict.fromkeys(filter(partial(is_not, None), rows)), dtype=np.intp)


def blend_weights(families: dict[str, Ranked], weights: dict[str, float]) -> dict[str, float]:
    """The rail's weights of the families that have candidates, summing to 1; equal when none is named."""
    present = [family for family, ranked in families.items() if ranked]
    chosen = {family: float(weights.get(family, 0.0)) for family in present if float(weights.get(family, 0.0)) > 0}
    if not chosen:
        chosen = {family: 1.0 for family in present}
    total = sum(chosen.values())
    return {family: weight / total for family, weight in chosen.items()}


@dataclass
class Blend:
    """A rail's candidates with their blended relevance, best first, kept as arrays: a rail shows a dozen
    of its hundreds of candidates, so only those chosen become `Slotted`."""

    pks: np.ndarray
    relevance: np.ndarray
    families: dict[str, np.ndarray]  # each family's rank score per candidate; NaN where it did not propose it
    rules: dict[int, list[str]] = field(default_factory=dict)  # boosts and buries applied, by candidate pk

    def reordered(self, order: np.ndarray) -> "Blend":
        families = {family: scores[order] for family, scores in self.families.items()}
        return Blend(pks=self.pks[order], relevance=self.relevance[order], families=families, rules=self.rules)

    def slotted(self, context: PageContext, row: int, diversity_penalty: float = 0.0) -> Slotted:
        """One candidate on its way to a slot; each family's score only for the console preview."""
        pk = int(self.pks[row])
        return Slotted(
            item=context.items[pk], families=self._family_scores(row) if context.debug else {},
            relevance=float(self.relevance[row]), diversity_penalty=diversity_penalty, rules=list(self.rules.get(pk, [])),
        )

    def _family_scores(self, row: int) -> dict[str, float]:
        return {family: float(values[row]) for family, values in self.families.items() if not np.isnan(values[row])}

    def by_text(self) -> list[int]:
        """Candidate pks by the text model's score, then by relevance: new items have text before they have clicks."""
        text = np.nan_to_num(self.families.get("text", np.zeros(len(self.pks))), nan=0.0)
        return self.pks[np.lexsort((np.arange(len(self.pks)), -self.relevance, -text))].tolist()


def scores_blend(families: dict[str, Ranked], weights: dict[str, float], pks: list[int]) -> Blend:
    """Reciprocal-rank blending (recommender.ml.blend), over the candidates the rail kept."""
    index = dict(zip(pks, range(len(pks))))
    relevance = np.zeros(len(pks))
    columns = {}
    for family, weight in blend_weights(families, weights).items():
        rows = _ranked_rows(families[family], index)
        scores = rank_scores(len(rows))
        column = np.full(len(pks), np.nan)
        column[rows] = scores
        columns[family] = column
        relevance[rows] += weight * scores
    blend = Blend(pks=np.asarray(pks, dtype=np.int64), relevance=relevance, families=columns)
    return _sorted(blend.reordered(np.flatnonzero(relevance > 0)))  # no weighted family proposed the others


def _sorted(blend: Blend) -> Blend:
    """Best first, ties by pk."""
    return blend.reordered(np.lexsort((blend.pks, -blend.relevance)))


def adjustments_apply(context: PageContext, blend: Blend) -> Blend:
    """Multiply relevance by every live boost and bury that matches.

    Applied before the diversity re-rank rather than after it: the re-rank picks a few items out of
    many, so a boost applied afterwards could not bring in an item the re-rank left out.
    """
    if not context.adjustments:
        return blend  # already in this order, from the blend
    relevance = blend.relevance.copy()
    rules: dict[int, list[str]] = {}
    for row, pk in enumerate(blend.pks.tolist()):
        for adjustment in context.adjustments:
            if adjustment.matches(context.items[pk]):
                relevance[row] *= adjustment.multiplier
                rules.setdefault(pk, []).append(str(adjustment))
    return _sorted(Blend(pks=blend.pks, relevance=relevance, families=blend.families, rules=rules))


def diversity_pool_size(count: int) -> int:
    return max(count * DIVERSITY_POOL_PER_SLOT, DIVERSITY_POOL_MIN)


def _similarity_matrix(context: PageContext, pks: list[int], items: list[Item]) -> np.ndarray:
    matrix, embedded = context.vector_matrix(pks)
    similarity = matrix @ matrix.T
    # Pairs with an item short of a vector compare by category; the rule is symmetric, so each such row fills its column.
    for i in np.flatnonzero(~embedded).tolist():
        for j in range(len(items)):
            similarity[i, j] = similarity[j, i] = _category_similarity(items[i], items[j])
    return similarity


def _category_similarity(first: Item, second: Item) -> float:
    if first.category_path and first.category_path == second.category_path:
        return SAME_CATEGORY_SIMILARITY
    if first.top_category and first.top_category == second.top_category:
        return SAME_ROOT_SIMILARITY
    return 0.0


@dataclass
class Cap:
    """At most `limit` items that share a value of one item attribute (a category, a brand) in a rail. Items
    with the attribute blank share nothing, so they are never capped."""

    attribute: str
    limit: int
    counts: Counter = field(default_factory=Counter)

    def full(self, value: str) -> bool:
        return bool(value) and self.counts[value] >= self.limit

    def take(self, item: Item) -> None:
        value = getattr(item, self.attribute)
        if value:
            self.counts[value] += 1


class Caps:
    """A rail's caps: per category, per brand, each where the rail sets one."""

    def __init__(self, per_category: int | None, per_brand: int | None):
        limits = {"category_path": per_category, "brand": per_brand}
        self.caps = [Cap(name, limit) for name, limit in limits.items() if limit is not None]

    def allows(self, item: Item) -> bool:
        return not any(cap.full(getattr(item, cap.attribute)) for cap in self.caps)

    def take(self, item: Item) -> None:
        for cap in self.caps:
            cap.take(item)


def diversity_rerank(context: PageContext, blend: Blend, *, count: int, diversity: float, caps: Caps) -> list[Slotted]:
    """Maximal marginal relevance over text embeddings, among the blend's best `diversity_pool_size(count)`
    candidates: each next item maximises (1 - λ)·relevance − λ·(its highest similarity to the items already
    chosen), within the caps."""
    pool = blend.pks[: diversity_pool_size(count)].tolist()
    if count <= 0 or not pool:
        return []
    items = list(map(context.items.__getitem__, pool))
    relevance = blend.relevance[: len(pool)]
    relevance = relevance / relevance.max() if relevance.max() > 0 else relevance
    # A candidate taken or over a cap scores -inf from then on, so that each pick is one argmax.
    score = (1.0 - diversity) * relevance
    penalty = np.zeros(len(pool))
    similarity = diversity * _similarity_matrix(context, pool, items) if diversity > 0 else None
    # For each cap, the pool's rows by their value of its attribute.
    rows = [(cap, _rows_by(map(attrgetter(cap.attribute), items))) for cap in caps.caps]
    for cap, by_value in rows:
        for value in filter(cap.full, by_value):
            score[by_value[value]] = -np.inf
    chosen = []
    while len(chosen) < count:
        marginal = score - penalty
        pick = int(np.argmax(marginal))
        if marginal[pick] == -np.inf:
            break
        item = items[pick]
        chosen.append(blend.slotted(context, pick, diversity_penalty=float(penalty[pick])))
        caps.take(item)
        score[pick] = -np.inf
        for cap, by_value in rows:  # taking an item can fill only the caps of its own values
            value = getattr(item, cap.attribute)
            if cap.full(value):
                score[by_value[value]] = -np.inf
        if similarity is not None:
            np.maximum(penalty, similarity[pick], out=penalty)  # symmetric: the row is the column
    return chosen


def _rows_by(values: Iterable[str]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for row, value in enumerate(values):
        rows.setdefault(value, []).append(row)
    return rows


def exploration_count(rail: RailRule, size: int) -> int:
    return int(size * rail.exploration_share + 0.5)


def exploration_pick(
    context: PageContext, *, rail: RailRule, count: int, candidates: list[int], taken: set[int], caps: Caps
) -> list[Slotted]:
    """Up to `count` new or rarely shown items that the text model scores well, drawn at random
    (seeded by shopper, rail and day) among the best few, so they earn data without a poor page."""
    if count <= 0:
        return []
    pool = list(islice(filterfalse(taken.__contains__, candidates), count * EXPLORATION_DRAW_PER_SLOT * 10))
    if not pool:
        return []
    context.items_load(pool)
    shown = context.impressions(pool)
    new_since = context.now - timedelta(days=NEW_ITEM_DAYS)
    fresh = [
        pk for pk in pool
        if shown.get(pk, 0) < RARELY_SHOWN_IMPRESSIONS or context.items[pk].created_at >= new_since
    ]
    draw = fresh[: count * EXPLORATION_DRAW_PER_SLOT]
    rng = random.Random(f"{context.seed_key}:{rail.key}:explore")
    rng.shuffle(draw)
    picked = []
    for pk in draw:
        item = context.items[pk]
        if len(picked) == count:
            break
        if caps.allows(item):
            caps.take(item)
            picked.append(Slotted(item=item, exploration=True, rules=[f"exploration ({shown.get(pk, 0)} impressions in 30 days)"]))
    return picked


def exploration_place(context: PageContext, rail: RailRule, ranked: list[Slotted], explore: list[Slotted]) -> list[Slotted]:
    """Explore items go to seeded slots after the first: the best match always leads the rail."""
    if not explore or not ranked:
        return ranked + explore
    total = len(ranked) + len(explore)
    rng = random.Random(f"{context.seed_key}:{rail.key}:slots")
    positions = set(rng.sample(range(1, total), len(explore)))
    placed, ranked_iter, explore_iter = [], iter(ranked), iter(explore)
    for position in range(total):
        placed.append(next(explore_iter) if position in positions else next(ranked_iter))
    return placed


def pins_usable(context: PageContext, rail: RailRule) -> list[PinRule]:
    """The rail's live pins whose item may be shown; an unavailable or blocked one leaves its slot to the ranking."""
    usable, slots, items = [], set(), set()
    for pin in context.pins.get(rail.pk, []):
        item = context.items[pin.item_id]
        if (
            not item.available
            or item_blocked(context, item)
            or item.pk in context.disliked
            or item.pk in context.exclude
            or item.pk in context.placed
            or pin.slot in slots
            or item.pk in items
        ):
            continue
        usable.append(pin)
        slots.add(pin.slot)
        items.add(item.pk)
    return usable


def pins_place(context: PageContext, ranked: list[Slotted], pins: list[PinRule], size: int) -> list[Slotted]:
    """Each pinned item at its slot (1-based); the ranking fills the rest. A slot past the end is the end."""
    pinned_pks = {pin.item_id for pin in pins}
    rest = [candidate for candidate in ranked if candidate.item.pk not in pinned_pks]
    placed: list[Slotted] = []
    pins_by_slot = {pin.slot: pin for pin in pins}
    rest_iter = iter(rest)
    for slot in range(1, size + 1):
        pin = pins_by_slot.get(slot)
        if pin is not None:
            placed.append(Slotted(item=context.items[pin.item_id], pinned=True, relevance=1.0, rules=[f"pinned at slot {slot}"]))
            continue
        candidate = next(rest_iter, None)
        if candidate is None:
            break
        placed.append(candidate)
    for pin in pins:
        if pin.slot > len(placed) and pin.item_id not in {candidate.item.pk for candidate in placed}:
            placed.append(
                Slotted(item=context.items[pin.item_id], pinned=True, relevance=1.0, rules=[f"pinned at slot {pin.slot} (rail shorter)"])
            )
    return placed[:size]
