"""What the homepage reads of a shop's page rules, and where the app that keeps them plugs in.

The merchandisers' rules (rails, pins, boosts and buries, blocks, campaigns) are merchandising's tables and
console; the homepage composes pages from them without importing that app: merchandising registers its store
here when it is ready (as it registers experiment assignment in homepage.arms), so every import arrow points
from merchandising to the homepage. The protocols name the fields a page reads, nothing more.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from django.db import models

from catalog.models import Item, Shop


class RailKind(models.TextChoices):
    """The rails the homepage knows how to fill (homepage.services.sources has one source per kind)."""

    FOR_YOU = "for_you", "Picked for you"
    BECAUSE_YOU_VIEWED = "because_you_viewed", "Because you viewed…"
    TRENDING = "trending", "Trending"
    NEW_ARRIVALS = "new_arrivals", "New arrivals"
    TOP_IN_CATEGORY = "top_in_category", "Top in the shopper's category"
    RECENTLY_VIEWED = "recently_viewed", "Recently viewed"
    COMPLEMENTS = "complements", "Goes with the cart"
    CAMPAIGN = "campaign", "Campaign banner"


# What a rail's title may name, by kind: the page fills them in (homepage.services.compose).
TITLE_PLACEHOLDERS = {
    RailKind.BECAUSE_YOU_VIEWED: frozenset({"seed"}),
    RailKind.COMPLEMENTS: frozenset({"seed"}),
    RailKind.TOP_IN_CATEGORY: frozenset({"category"}),
    RailKind.CAMPAIGN: frozenset({"campaign"}),
}


class CampaignRule(Protocol):
    pk: int
    name: str
    starts_at: datetime
    ends_at: datetime
    banner_title: str
    banner_image_url: str
    banner_link_url: str

    def is_live(self, at: datetime) -> bool: ...


class ScheduledRule(Protocol):
    """A pin, adjustment or block: it holds from starts_at to ends_at, and only while its campaign runs."""

    starts_at: datetime
    ends_at: datetime | None
    campaign_id: int | None
    campaign: CampaignRule | None

    def is_live(self, at: datetime) -> bool: ...


class RailRule(Protocol):
    pk: int | None
    key: str
    title: str
    kind: str
    size: int
    enabled: bool
    blend_weights: dict[str, float]
    diversity: float
    max_per_category: int | None
    max_per_brand: int | None
    exploration_share: float
    campaign_id: int | None
    campaign: CampaignRule | None


class PinRule(ScheduledRule, Protocol):
    rail_id: int
    item_id: int
    item: Item
    slot: int


class AdjustmentRule(ScheduledRule, Protocol):
    multiplier: float

    @property
    def target_key(self) -> tuple: ...

    def matches(self, item: Item) -> bool: ...


class BlockRule(ScheduledRule, Protocol):
    def matches(self, item: Item) -> bool: ...


@dataclass(frozen=True)
class RuleRows:
    """A shop's rules as its store reads them, each campaign's rules carrying their campaign."""

    rails: list[RailRule]  # every rail, enabled or not, in page order
    pins: list[PinRule]  # of every rail, in slot order, with their items
    adjustments: list[AdjustmentRule]
    blocks: list[BlockRule]
    campaigns: list[CampaignRule]


@dataclass(frozen=True)
class DefaultRail:
    """A rail of DEFAULT_RAILS that is no row: what a page uses where a shop keeps none of that kind."""

    key: str
    title: str
    kind: str
    size: int
    diversity: float
    max_per_category: int | None
    max_per_brand: int | None
    exploration_share: float
    blend_weights: dict[str, float] = field(default_factory=dict)
    enabled: bool = True
    pk: None = None
    campaign_id: None = None
    campaign: None = None


class RuleStore(Protocol):
    def rules_read(self, *, shop: Shop) -> RuleRows: ...

    def default_rails_ensure(self, *, shop: Shop) -> None:
        """Give a shop that has no rails the default page's (DEFAULT_RAILS); leave a shop with rails as it is."""


_store: RuleStore | None = None


def rule_store_set(store: RuleStore) -> None:
    global _store
    _store = store


def rule_store() -> RuleStore:
    if _store is None:
        raise RuntimeError("No rule store is registered: the merchandising app registers it when it is ready.")
    return _store
