"""Where each kind of rail gets its candidates, and the reason it gives for them.

A source returns None when its rail does not apply to this shopper (no seed item, no cart, no
live campaign, nobody to personalise for): the rail is then left off the page.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from catalog.models import EventType, Item
from recommender.ml.topk import ranked_pairs
from recommender.models import Family

from .. import selectors
from ..defaults import DEFAULT_RAILS
from ..rules import CampaignRule, RailKind, RailRule
from .context import ENGAGED_TYPES, PageContext, Ranked, item_blocked

logger = logging.getLogger(__name__)

SIMILAR_K = 100
CAMPAIGN_ITEMS = 500
# The seed's reason says what the shopper did with it. A search counts when the storefront sent the item it led to.
SEED_TYPES = (*ENGAGED_TYPES, EventType.SEARCH)
SEED_REASONS = {
    EventType.VIEW: "Because you viewed {seed}",
    EventType.CLICK: "Because you viewed {seed}",
    EventType.ADD_TO_CART: "Because you added {seed} to your cart",
    EventType.PURCHASE: "Because you bought {seed}",
    EventType.RATING: "Because you rated {seed}",
    EventType.SEARCH: "Because you searched for {seed}",
}
SEED_DEFAULT_TITLE = next(spec["title"] for spec in DEFAULT_RAILS if spec["kind"] == RailKind.BECAUSE_YOU_VIEWED)


@dataclass
class RailSource:
    families: dict[str, Ranked]
    reason: Callable[[Item], str]
    title_values: dict[str, str] = field(default_factory=dict)
    title_template: str = ""  # in place of the rail's own title, whose placeholders it shares
    leave_out_own: bool = True  # the shopper's own items are left out, except where showing them is the point
    seed: Item | None = None
    campaign: CampaignRule | None = None


def _model_similar(context: PageContext, family: str, item_pk: int, k: int) -> Ranked:
    """Items nearest to one item in a serving model; empty when none serves or knows it."""
    version = context.versions.get(family)
    if version is None or not version.artifact_path:
        return []
    from recommender.services.registry import model_load

    try:
        loaded = model_load(version=version)
    except Exception:
        logger.exception("Shop %s: could not load %s #%s", context.shop.slug, family, version.pk)
        return []
    index = loaded.item_index.get(item_pk)
    if index is None:
        return []
    return loaded.neighbours.ranked((item_pk, k), lambda: ranked_pairs(loaded.item_pks, *loaded.model.similar_items(index, k)))


def _embedding_neighbours(context: PageContext, item_pk: int, k: int) -> Ranked:
    """Nearest items by stored text embedding: the catalog snapshot's vectors, which take in an item's vector as soon
    as it is written (embedded on upsert), where a trained text model knows only the items of its training run."""
    if item_pk in context.snapshot.vector_rows:
        return context.snapshot.item_nearest(item_pk, k=k)
    vector = context.vectors([item_pk]).get(item_pk)  # written since the snapshot's last read
    if vector is None:
        return []
    return context.snapshot.nearest(vector, k=k, leave_out=item_pk)


def similar_families(context: PageContext, item_pk: int, k: int = SIMILAR_K) -> dict[str, Ranked]:
    families = {"text": _embedding_neighbours(context, item_pk, k), "mf": _model_similar(context, Family.MF, item_pk, k)}
    return {family: ranked for family, ranked in families.items() if ranked}


def _popularity_within(context: PageContext, pks: list[int]) -> Ranked:
    popular = dict(context.candidates().get(Family.POPULARITY, []))
    wanted = set(pks)
    ranked = [(pk, score) for pk, score in popular.items() if pk in wanted]
    missing = [pk for pk in pks if pk not in popular]
    # Items outside the popularity top-k follow, newest first (pks arrive newest first).
    floor = min((score for _, score in ranked), default=1.0)
    return ranked + [(pk, floor * 0.5 / (rank + 1)) for rank, pk in enumerate(missing)]


def for_you_source(context: PageContext, rail: RailRule) -> RailSource:
    candidates = context.candidates()
    if not context.personalized:
        # Cold start: what is popular, spread over the catalog by the rail's diversity re-rank.
        return RailSource(
            families={Family.POPULARITY: candidates[Family.POPULARITY] or context.newest_items()},
            reason=lambda item: "Popular right now",
        )
    families = dict(candidates)
    if not any(families.values()):
        families["recency"] = context.newest_items()
    liked = context.liked_kind()

    def reason(item: Item) -> str:
        # What the shopper keeps coming back to, said in the words of the catalog: "Because you like OPI nail polish".
        if liked is not None and (item.brand, item.category_path) == liked:
            return f"Because you like {item.brand} {item.categories[-1].lower()}"
        return "Picked for you"

    return RailSource(families=families, reason=reason)


def _searched_source(context: PageContext, rail: RailRule) -> RailSource | None:
    """Items closest in text to the shopper's latest search words, where nothing they did since named an item."""
    search = context.latest_search
    ranked = context.snapshot.nearest(search.vector, k=SIMILAR_K) if search is not None else []
    if not ranked:
        return None
    wording = SEED_REASONS[EventType.SEARCH]
    reason = wording.format(seed=f"'{search.words}'")
    return RailSource(
        families={"text": ranked}, reason=lambda item: reason, title_values={"seed": f"'{search.words}'"},
        title_template=wording if rail.title == SEED_DEFAULT_TITLE else "",
    )


def because_you_viewed_source(context: PageContext, rail: RailRule) -> RailSource | None:
    if not context.personalized:
        return None
    if searched := _searched_source(context, rail):
        return searched
    engaged = [(pk, kind) for pk, kind in context.history if kind in SEED_TYPES]
    context.items_load([pk for pk, _ in engaged])
    # The title names the seed: a blocked or disliked item must not be named either.
    seed, action = next(
        (
            (context.items[pk], kind) for pk, kind in engaged
            if pk in context.items and pk not in context.disliked and not item_blocked(context, context.items[pk])
        ),
        (None, None),
    )
    if seed is None:
        return None
    families = similar_families(context, seed.pk)
    if not families and seed.top_category:
        families = {"category": _popularity_within(context, context.category_items(category=seed.top_category))}
    if not families:
        return None
    if action == EventType.SEARCH:  # not among the shopper's own items, which every rail leaves out
        families = {family: [(pk, score) for pk, score in ranked if pk != seed.pk] for family, ranked in families.items()}
    wording = SEED_REASONS[action]
    reason = wording.format(seed=seed.title)
    return RailSource(
        families=families, reason=lambda item: reason, title_values={"seed": seed.title}, seed=seed,
        # A title the merchandiser wrote stays theirs; the default one follows what the shopper did.
        title_template=wording if rail.title == SEED_DEFAULT_TITLE else "",
    )


def trending_source(context: PageContext, rail: RailRule) -> RailSource:
    trending = selectors.trending_from_counts(shop=context.shop, now=context.now)
    families = {"trending": trending, Family.POPULARITY: context.candidates()[Family.POPULARITY]}
    if not any(families.values()):
        families = {"recency": context.newest_items()}

    def reason(item: Item) -> str:
        return f"Trending in {item.top_category}" if item.top_category else "Trending now"

    return RailSource(families=families, reason=reason)


def new_arrivals_source(context: PageContext, rail: RailRule) -> RailSource:
    return RailSource(families={"recency": context.newest_items()}, reason=lambda item: "New arrival")


def top_in_category_source(context: PageContext, rail: RailRule) -> RailSource | None:
    if not context.personalized:
        return None
    category = context.top_category()
    if not category:
        return None
    members = context.category_items(category=category)
    member_set = set(members)
    families = {Family.POPULARITY: _popularity_within(context, members)}
    for family, ranked in context.candidates().items():
        if family != Family.POPULARITY:
            families[family] = [(pk, score) for pk, score in ranked if pk in member_set]
    return RailSource(families=families, reason=lambda item: f"Popular in {category}", title_values={"category": category})


def recently_viewed_source(context: PageContext, rail: RailRule) -> RailSource | None:
    if not context.personalized:
        return None
    seen: list[int] = []
    for pk, kind in context.history:
        if kind in (EventType.VIEW, EventType.CLICK) and pk not in seen:
            seen.append(pk)
    if not seen:
        return None
    ranked = [(pk, float(len(seen) - rank)) for rank, pk in enumerate(seen)]
    return RailSource(families={"recency": ranked}, reason=lambda item: "You viewed this recently", leave_out_own=False)


def cart_items(context: PageContext) -> list[int]:
    """Items added to the cart and not bought since, newest first."""
    cart, settled = [], set()
    for pk, kind in context.history:  # newest first: a purchase seen first settles the older adds
        if kind == EventType.PURCHASE:
            settled.add(pk)
        elif kind == EventType.ADD_TO_CART and pk not in settled and pk not in cart:
            cart.append(pk)
    return cart


def complements_source(context: PageContext, rail: RailRule) -> RailSource | None:
    if not context.personalized:
        return None
    cart = cart_items(context)
    if not cart:
        return None
    together = selectors.co_occurring_items(shop=context.shop, item_pks=cart, exclude_shopper=context.shopper, now=context.now)
    if not together:
        return None
    context.items_load(cart[:1])
    anchor = context.items.get(cart[0])
    families = {"co_purchase": together, Family.POPULARITY: context.candidates()[Family.POPULARITY]}
    reason = f"Goes with {anchor.title} in your cart" if anchor else "Goes with your cart"
    return RailSource(families=families, reason=lambda item: reason, title_values={"seed": anchor.title if anchor else ""})


def _campaign_items(context: PageContext, campaign: CampaignRule) -> Ranked:
    """The items the campaign's boosts match, as the boosts match them, from the catalog snapshot: once per
    snapshot rather than a query per boost and page."""
    scores: dict[int, float] = {}
    for adjustment in context.adjustments:
        if adjustment.campaign_id != campaign.pk or adjustment.multiplier <= 1:
            continue
        for pk in context.snapshot.items_matching(adjustment.target_key, adjustment.matches, k=CAMPAIGN_ITEMS):
            scores[pk] = max(scores.get(pk, 0.0), adjustment.multiplier)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def campaign_source(context: PageContext, rail: RailRule) -> RailSource | None:
    campaign = context.rules.live_campaign(context.now, rail)
    if campaign is None:
        return None
    members = _campaign_items(context, campaign)
    member_set = {pk for pk, _ in members}
    families = {"campaign": members}
    for family, ranked in context.candidates().items():
        families[family] = [(pk, score) for pk, score in ranked if pk in member_set]
    return RailSource(
        families=families,
        reason=lambda item: f"Part of {campaign.name}",
        title_values={"campaign": campaign.banner_title or campaign.name},
        campaign=campaign,
    )


SOURCES: dict[str, Callable[[PageContext, RailRule], RailSource | None]] = {
    RailKind.FOR_YOU: for_you_source,
    RailKind.BECAUSE_YOU_VIEWED: because_you_viewed_source,
    RailKind.TRENDING: trending_source,
    RailKind.NEW_ARRIVALS: new_arrivals_source,
    RailKind.TOP_IN_CATEGORY: top_in_category_source,
    RailKind.RECENTLY_VIEWED: recently_viewed_source,
    RailKind.COMPLEMENTS: complements_source,
    RailKind.CAMPAIGN: campaign_source,
}


def rail_source(context: PageContext, rail: RailRule) -> RailSource | None:
    return SOURCES[rail.kind](context, rail)
