"""Pages and rails as the console previews them: live, or as the open draft would leave the rules, with what
moved marked."""

from collections.abc import Callable
from copy import copy
from dataclasses import dataclass, field
from typing import TypeVar

from django.utils import timezone

from catalog.models import Shop, Shopper
from homepage.services import Page, PageItem, PageRail, rail_compose
from homepage.services.context import page_context_build

from ..models import Draft, Rail
from ..services import DraftConflict, draft_applied


@dataclass
class ItemMarks:
    entry: PageItem
    change: str = ""  # "new" in this rail, or "up" / "down" `by` slots
    by: int = 0


@dataclass
class RailMarks:
    rail: PageRail
    items: list[ItemMarks]
    change: str = ""  # "new" on the page, or "up" / "down" `by` places among the rails both pages show
    by: int = 0
    title_before: str = ""  # set when the title differs
    gone: list[PageItem] = field(default_factory=list)


@dataclass
class PageMarks:
    rails: list[RailMarks]
    removed: list[PageRail] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed) or any(
            rail.change or rail.title_before or rail.gone or any(item.change for item in rail.items) for rail in self.rails
        )


def _shift(before: int | None, after: int) -> tuple[str, int]:
    if before is None:
        return "new", 0
    if before == after:
        return "", 0
    return ("up", before - after) if before > after else ("down", after - before)


def page_marks(*, page: Page, before: Page | None = None) -> PageMarks:
    """The page's rails and items, each marked with how it differs from `before`: rails added, removed,
    reordered or retitled, items new in a rail, gone from it, or moved up or down. Without `before`,
    nothing is marked."""
    if before is None:
        return PageMarks(rails=[RailMarks(rail=rail, items=[ItemMarks(entry) for entry in rail.items]) for rail in page.rails])
    earlier = {rail.key: rail for rail in before.rails}
    shown = {rail.key for rail in page.rails}
    order_before = [rail.key for rail in before.rails if rail.key in shown]
    order_after = [rail.key for rail in page.rails if rail.key in earlier]
    rails = []
    for rail in page.rails:
        old = earlier.get(rail.key)
        if old is None:
            rails.append(RailMarks(rail=rail, items=[ItemMarks(entry) for entry in rail.items], change="new"))
            continue
        slots = {entry.item.pk: entry.slot for entry in old.items}
        kept = {entry.item.pk for entry in rail.items}
        change, by = _shift(order_before.index(rail.key), order_after.index(rail.key))
        rails.append(
            RailMarks(
                rail=rail,
                items=[ItemMarks(entry, *_shift(slots.get(entry.item.pk), entry.slot)) for entry in rail.items],
                change=change,
                by=by,
                title_before=old.title if old.title != rail.title else "",
                gone=[entry for entry in old.items if entry.item.pk not in kept],
            )
        )
    return PageMarks(rails=rails, removed=[rail for rail in before.rails if rail.key not in shown])


T = TypeVar("T")


def rules_read(*, draft: Draft | None, read: Callable[[], T]) -> T:
    """What `read` returns from the rules as the open draft would leave them; from the live rules without
    a draft, or when the draft no longer applies (the preview names the conflict)."""
    if draft is None:
        return read()
    try:
        with draft_applied(draft=draft):
            return read()
    except DraftConflict:
        return read()


def row_read(*, draft: Draft | None, read: Callable[[], T | None]) -> T | None:
    """One rule row by its id: the live row, else the row the open draft makes (a draft makes each of its rows
    with the id it reserved for it, so the console edits a drafted row as it edits a live one)."""
    return read() or rules_read(draft=draft, read=read)


@dataclass
class RailPreview:
    rail: PageRail | None  # None: the rail shows nothing to this shopper
    distinct_categories: int
    mean_relevance: float  # the blended (and boosted) score of the shown items, pins counting 1

    @property
    def items(self) -> list[PageItem]:
        return self.rail.items if self.rail else []


def rail_preview(
    *, shop: Shop, rail: Rail, shopper: Shopper | None, diversity: float, max_per_category: int | None,
    max_per_brand: int | None,
) -> RailPreview:
    """The rail as the shopper would get it (alone, at the top of the page) with another λ and caps, on a
    copy of the rail: nothing is saved."""
    trial = copy(rail)
    trial.diversity, trial.max_per_category, trial.max_per_brand = diversity, max_per_category, max_per_brand
    context = page_context_build(shop=shop, shopper=shopper, now=timezone.now(), exclude=set(), debug=True)
    composed = rail_compose(context, trial, size=trial.size, reserved=set())
    items = composed.items if composed else []
    return RailPreview(
        rail=composed,
        distinct_categories=len({entry.item.category_path for entry in items}),
        mean_relevance=sum(entry.explanation["relevance"] for entry in items) / len(items) if items else 0.0,
    )
