"""Each process's copy of a shop's page rules: its rails, pins, boosts and buries, blocks and campaigns.

Every page reads them and they change rarely, so they are read (from the rule store, homepage.rules) once
per process and again when the shop's rules token changes: every rule write replaces it (the store's
services, the admin and any other save, through the models' signals), once when it is made and once when
it commits. A draft's preview writes
rules inside a transaction it rolls back, without replacing the token: it reads the database.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from catalog.models import Shop

from .cache import ProcessCopies, rules_changes_silenced, rules_token
from .rules import (
    AdjustmentRule,
    BlockRule,
    CampaignRule,
    PinRule,
    RailKind,
    RailRule,
    RuleRows,
    rule_store,
)

MAX_SHOPS = 16


@dataclass(frozen=True)
class Rulebook:
    token: str
    rails: list[RailRule]  # enabled, in page order
    pins: list[PinRule]  # of every rail, in slot order, with their items
    adjustments: list[AdjustmentRule]
    blocks: list[BlockRule]
    campaigns: list[CampaignRule]
    for_you: RailRule | None  # the rail a flat top-k follows: the first enabled for_you rail, else the first

    @classmethod
    def of(cls, rows: RuleRows, token: str) -> "Rulebook":
        for_you = [rail for rail in rows.rails if rail.kind == RailKind.FOR_YOU]
        return cls(
            token=token,
            rails=[rail for rail in rows.rails if rail.enabled],
            pins=rows.pins,
            adjustments=rows.adjustments,
            blocks=rows.blocks,
            campaigns=rows.campaigns,
            for_you=next((rail for rail in for_you if rail.enabled), next(iter(for_you), None)),
        )

    def live_pins(self, at: datetime) -> dict[int, list[PinRule]]:
        """Each rail's pins that hold at `at`, by rail pk, in slot order."""
        found: dict[int, list[PinRule]] = {}
        for pin in self.pins:
            if pin.is_live(at):
                found.setdefault(pin.rail_id, []).append(pin)
        return found

    def live_adjustments(self, at: datetime) -> list[AdjustmentRule]:
        return [adjustment for adjustment in self.adjustments if adjustment.is_live(at)]

    def live_blocks(self, at: datetime) -> list[BlockRule]:
        return [block for block in self.blocks if block.is_live(at)]

    def live_campaign(self, at: datetime, rail: RailRule | None = None) -> CampaignRule | None:
        """The campaign a banner rail shows: its own, or for a rail that names none, the latest live
        campaign that has no enabled rail of its own (which shows it already: one banner, not two)."""
        if rail is not None and rail.campaign_id:
            return rail.campaign if rail.campaign.is_live(at) else None
        shown = {rail.campaign_id for rail in self.rails if rail.campaign_id}
        live = [campaign for campaign in self.campaigns if campaign.is_live(at) and campaign.pk not in shown]
        return max(live, key=lambda campaign: (campaign.starts_at, -campaign.pk), default=None)

    def next_change(self, now: datetime) -> datetime | None:
        """When the next pin, adjustment, block or campaign starts or ends: a cached page must not outlive it."""
        rules = [*self.pins, *self.adjustments, *self.blocks, *self.campaigns]
        moments = [moment for rule in rules for moment in (rule.starts_at, rule.ends_at) if moment is not None and moment > now]
        return min(moments, default=None)


def _rulebook_read(shop: Shop, token: str) -> Rulebook:
    return Rulebook.of(rule_store().rules_read(shop=shop), token)


_rulebooks = ProcessCopies(MAX_SHOPS)
# The rules a page is composed from in place of the live ones, with their shop's pk: a draft's, for the
# shoppers an experiment serves it to.
_substituted: ContextVar[tuple[int, Rulebook] | None] = ContextVar("homepage_rulebook_substituted", default=None)


@contextmanager
def rulebook_substituted(*, shop: Shop, rules: Rulebook) -> Iterator[None]:
    """Inside the block, the shop's pages are composed from `rules`."""
    reset = _substituted.set((shop.pk, rules))
    try:
        yield
    finally:
        _substituted.reset(reset)


def rulebook(*, shop: Shop) -> Rulebook:
    """The shop's rules as of its current token; the database's own when a draft's preview is running; the
    substituted ones inside rulebook_substituted."""
    substituted = _substituted.get()
    if substituted is not None and substituted[0] == shop.pk:
        return substituted[1]
    if rules_changes_silenced():
        return _rulebook_read(shop, "draft")
    token = rules_token(shop=shop)
    return _rulebooks.get(shop, token, lambda: _rulebook_read(shop, token))
