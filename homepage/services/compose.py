"""A shopper's homepage: each enabled rail in page order, no item twice, every item with its reason."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
from operator import itemgetter

from django.utils import timezone

from catalog.models import Item, Shop, Shopper

from .. import selectors
from ..defaults import DEFAULT_BLEND, DEFAULT_RAILS
from ..rulebook import rulebook
from ..rules import TITLE_PLACEHOLDERS, DefaultRail, RailKind, RailRule, rule_store
from ..snapshot import catalog_snapshot_recheck
from .context import PageContext, page_context_build
from .ranking import (
    NEW_ITEM_DAYS,
    Blend,
    Caps,
    Slotted,
    adjustments_apply,
    candidates_filter,
    diversity_rerank,
    exploration_count,
    exploration_pick,
    exploration_place,
    pins_place,
    pins_usable,
    scores_blend,
)
from .sources import RailSource, rail_source

MAX_PAGE = 20
NO_EXPLORATION_KINDS = {RailKind.RECENTLY_VIEWED, RailKind.CAMPAIGN, RailKind.NEW_ARRIVALS}
OPEN_EXPLORATION_KINDS = {RailKind.FOR_YOU, RailKind.TRENDING}
COLD_TITLES = {RailKind.FOR_YOU: "Popular right now"}
PLACEHOLDER = re.compile(r"\{(%s)\}" % "|".join(sorted(frozenset().union(*TITLE_PLACEHOLDERS.values()))))


class PageRequestInvalid(ValueError):
    """The storefront asked for something this shop's page cannot give; the message says what to send."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


@dataclass
class PageItem:
    item: Item
    slot: int
    rail: str
    reason: str
    explanation: dict | None = None  # debug only: family scores, diversity penalty, rules applied


@dataclass
class PageRail:
    key: str
    title: str
    kind: str
    items: list[PageItem]
    banner: dict | None = None


@dataclass
class Page:
    shopper_known: bool
    personalized: bool
    rails: list[PageRail] = field(default_factory=list)
    generated_at: datetime = field(default_factory=timezone.now)
    valid_until: datetime | None = None


def _title(rail: RailRule, source: RailSource, personalized: bool) -> str:
    if not personalized and rail.kind in COLD_TITLES:
        return COLD_TITLES[rail.kind]
    template = source.title_template or rail.title
    return PLACEHOLDER.sub(lambda match: source.title_values.get(match.group(1), ""), template).strip()


def _reason(candidate: Slotted, source: RailSource, now: datetime) -> str:
    if candidate.pinned and source.campaign is None:
        return "Featured"
    if candidate.exploration:
        return "New arrival" if candidate.item.created_at >= now - timedelta(days=NEW_ITEM_DAYS) else "Something new to discover"
    return source.reason(candidate.item)


def _explanation(candidate: Slotted) -> dict:
    return {
        "families": {str(family): round(score, 4) for family, score in candidate.families.items()},
        "relevance": round(candidate.relevance, 4),
        "diversity_penalty": round(candidate.diversity_penalty, 4),
        "rules": candidate.rules,
        "exploration": candidate.exploration,
        "pinned": candidate.pinned,
    }


def _exploration_candidates(context: PageContext, rail: RailRule, blend: Blend) -> list[int]:
    # Within the rail's own candidates, the text model's favourites first.
    pks = blend.by_text()
    if rail.kind in OPEN_EXPLORATION_KINDS:
        text = context.candidates().get("text", []) if context.personalized else []
        pks += [pk for pk, _ in text] + [pk for pk, _ in context.newest_items(k=50)]
    return list(dict.fromkeys(pks))


def rail_compose(context: PageContext, rail: RailRule, *, size: int, reserved: set[int]) -> PageRail | None:
    """One rail: candidates → filter → blend → boosts and buries → diversity re-rank within caps →
    exploration slots → pins → reasons. Its items are added to the page's placed items."""
    source = rail_source(context, rail)
    if source is None:
        return None
    pins = pins_usable(context, rail)[:size]
    pinned = {pin.item_id for pin in pins}
    leave_out_own = source.leave_out_own and context.personalized
    pool = list(map(itemgetter(0), chain.from_iterable(source.families.values())))
    # Pinned items are placed by their pins, not ranked; items pinned to other rails wait for those rails.
    pks = candidates_filter(context, pool, leave_out_own=leave_out_own, reserved=reserved | pinned)
    blend = adjustments_apply(context, scores_blend(source.families, rail.blend_weights or DEFAULT_BLEND[rail.kind], pks))

    def caps_with_pins() -> Caps:
        caps = Caps(rail.max_per_category, rail.max_per_brand)
        for pin in pins:
            caps.take(context.items[pin.item_id])
        return caps

    open_slots = size - len(pins)
    ranked = diversity_rerank(context, blend, count=open_slots, diversity=rail.diversity, caps=caps_with_pins())
    explore_count = 0 if rail.kind in NO_EXPLORATION_KINDS else min(exploration_count(rail, size), open_slots)
    kept = ranked[: open_slots - explore_count]
    caps = caps_with_pins()
    for candidate in kept:
        caps.take(candidate.item)
    explore = []
    if explore_count > 0:
        explore_pool = candidates_filter(
            context, _exploration_candidates(context, rail, blend),
            leave_out_own=leave_out_own, reserved=reserved | pinned,
        )
        explore = exploration_pick(
            context, rail=rail, count=explore_count, candidates=explore_pool, taken={c.item.pk for c in kept}, caps=caps
        )
    chosen = {candidate.item.pk for candidate in kept + explore}
    for candidate in ranked[len(kept):]:  # slots exploration could not fill go back to the ranking
        if len(kept) + len(explore) >= open_slots:
            break
        if candidate.item.pk not in chosen and caps.allows(candidate.item):
            caps.take(candidate.item)
            kept.append(candidate)
    slotted = pins_place(context, exploration_place(context, rail, kept, explore), pins, size)
    context.placed.update(candidate.item.pk for candidate in slotted)
    items = [
        PageItem(
            item=candidate.item, slot=slot, rail=rail.key, reason=_reason(candidate, source, context.now),
            explanation=_explanation(candidate) if context.debug else None,
        )
        for slot, candidate in enumerate(slotted, start=1)
    ]
    banner = None
    if source.campaign is not None:
        campaign = source.campaign
        banner = {"title": campaign.banner_title or campaign.name, "image_url": campaign.banner_image_url, "link_url": campaign.banner_link_url}
    if not items and banner is None:
        return None
    return PageRail(key=rail.key, title=_title(rail, source, context.personalized), kind=rail.kind, items=items, banner=banner)


def _selected_rails(rails: list[RailRule], rail_keys: list[str] | None, page: int) -> list[RailRule]:
    if page < 1 or page > MAX_PAGE:
        raise PageRequestInvalid(f"page must be between 1 and {MAX_PAGE}.", "invalid_page")
    if page > 1 and (not rail_keys or len(rail_keys) != 1):
        raise PageRequestInvalid("page > 1 pages through one rail: send rails=<one rail key> with it.", "page_needs_one_rail")
    if not rail_keys:
        return rails
    known = {rail.key for rail in rails}
    unknown = [key for key in rail_keys if key not in known]
    if unknown:
        raise PageRequestInvalid(
            f"Unknown or disabled rail(s): {', '.join(unknown)}. This shop's rails: {', '.join(sorted(known)) or 'none'}.",
            "unknown_rail",
        )
    return [rail for rail in rails if rail.key in rail_keys]


def homepage_compose(
    *,
    shop: Shop,
    shopper: Shopper | None,
    rail_keys: list[str] | None = None,
    size: int | None = None,
    exclude: set[int] | frozenset[int] = frozenset(),
    page: int = 1,
    debug: bool = False,
    now: datetime | None = None,
) -> Page:
    """The shopper's page (cold start for None, non-personalized for an opted-out shopper).

    `rail_keys` picks rails, `size` overrides every rail's size, `exclude` holds item pks the storefront
    already shows. `page` > 1 gives the next items of the one rail named, never any of its earlier pages
    (as composed on the full page, and on its own). `debug` adds each item's scores and rules, for the
    console preview; `now` previews another moment (a campaign's start).
    """
    now = now or timezone.now()
    return _with_current_catalog(
        shop,
        lambda: _homepage_compose(
            shop=shop, shopper=shopper, rail_keys=rail_keys, size=size, exclude=exclude, page=page, debug=debug, now=now,
        ),
    )


def _with_current_catalog(shop: Shop, compose: Callable[[], Page]) -> Page:
    """The composed page, composed again from a reloaded catalog snapshot if it holds an unavailable item.

    Catalog writes through the services bump the snapshot's token; one that bypasses them (the admin,
    a script) is caught here, at the cost of one query per page, so an out-of-stock item is never served.
    """
    composed = compose()
    if not selectors.items_all_available(shop=shop, item_pks=_page_item_pks(composed)):
        catalog_snapshot_recheck(shop=shop)
        composed = compose()
    return composed


def _page_item_pks(page: Page) -> list[int]:
    return [entry.item.pk for rail in page.rails for entry in rail.items]


# How long a page composed before the shopper's latest search words were embedded (by the score worker) is cached.
SEARCH_PENDING = timedelta(seconds=2)


def _homepage_compose(
    *,
    shop: Shop,
    shopper: Shopper | None,
    rail_keys: list[str] | None,
    size: int | None,
    exclude: set[int] | frozenset[int],
    page: int,
    debug: bool,
    now: datetime,
) -> Page:
    rules = rulebook(shop=shop)
    if not rules.rails:
        rule_store().default_rails_ensure(shop=shop)
        rules = rulebook(shop=shop)
    rails = rules.rails
    selected = _selected_rails(rails, rail_keys, page)
    context = page_context_build(
        shop=shop, shopper=shopper, now=now, exclude=set(exclude), debug=debug, rules=rules
    )
    result = Page(shopper_known=shopper is not None, personalized=context.personalized, generated_at=now)
    if page == 1:
        reserved = _reserved_pins(context, selected)
        for rail in selected:
            composed = rail_compose(context, rail, size=size or rail.size, reserved=reserved)
            if composed is not None:
                result.rails.append(composed)
    else:
        composed = _rail_page(context, rails, selected[0], size=size, page=page)
        if composed is not None:
            result.rails.append(composed)
    result.valid_until = rules.next_change(now)
    if context.search_pending:  # the page with the search's rail is a second away: keep this one no longer
        result.valid_until = min(filter(None, [result.valid_until, now + SEARCH_PENDING]))
    return result


def _reserved_pins(context: PageContext, rails: list[RailRule]) -> set[int]:
    # A pinned item is kept for its own rail: a rail higher on the page must not take it first.
    return {pin.item_id for rail in rails for pin in context.pins.get(rail.pk, [])}


def _rail_page(context: PageContext, rails: list[RailRule], target: RailRule, *, size: int | None, page: int) -> PageRail | None:
    """Page `page` of one rail: compose its first page alone and in the full page (the rails above
    take their items first), then its next pages, each leaving out every item shown before."""
    reserved = _reserved_pins(context, rails)
    alone = rail_compose(context, target, size=size or target.size, reserved=reserved)
    shown_alone = {item.item.pk for item in alone.items} if alone else set()
    context.placed = set()
    for rail in rails:
        if rail.pk == target.pk:
            break
        rail_compose(context, rail, size=size or rail.size, reserved=reserved)
    composed = None
    for number in range(1, page + 1):
        if number == page:
            context.placed |= shown_alone
        # Pins hold slots of the first page only.
        composed = rail_compose(context, target, size=size or target.size, reserved=reserved)
        if number == 1:
            context.pins.pop(target.pk, None)
        if composed is None:
            return None
    return composed


def recommendations_compose(
    *, shop: Shop, shopper: Shopper | None, k: int, exclude: set[int] | frozenset[int] = frozenset(), debug: bool = False
) -> tuple[Page, RailRule]:
    """A flat top-k of the shop's for_you ranking, through the same pipeline as the homepage rail."""
    now = timezone.now()
    rail = rulebook(shop=shop).for_you
    if rail is None:
        rule_store().default_rails_ensure(shop=shop)
        rail = rulebook(shop=shop).for_you
    if rail is None:  # the shop keeps rails but has deleted every for_you one
        rail = DefaultRail(**next(spec for spec in DEFAULT_RAILS if spec["kind"] == RailKind.FOR_YOU))

    def compose() -> Page:
        context = page_context_build(shop=shop, shopper=shopper, now=now, exclude=set(exclude), debug=debug)
        result = Page(shopper_known=shopper is not None, personalized=context.personalized, generated_at=now)
        composed = rail_compose(context, rail, size=k, reserved=set())
        if composed is not None:
            result.rails.append(composed)
        return result

    return _with_current_catalog(shop, compose), rail
