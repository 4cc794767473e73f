"""Each process's copy of a shop's page rules: its rails, pins, boosts and buries, blocks and campaigns.

Every page reads them and they change rarely, so they are read once per process and again when the
shop's rules token changes: every rule write replaces it (the services, the admin and any other save,
through the models' signals), once when it is made and once when it commits. A draft's preview writes
rules inside a transaction it rolls back, without replacing the token: it reads the database.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.db.models.signals import post_delete, post_save

from catalog.models import Shop
from merchandising.models import Adjustment, Block, Campaign, Pin, Rail

from .cache import ProcessCopies, homepage_rules_changed, rules_changes_silenced, rules_token

MAX_SHOPS = 16


@dataclass(frozen=True)
class Rulebook:
    token: str
    rails: list[Rail]  # enabled, in page order
    pins: list[Pin]  # of every rail, in slot order, with their items
    adjustments: list[Adjustment]
    blocks: list[Block]
    campaigns: list[Campaign]

    def live_pins(self, at: datetime) -> dict[int, list[Pin]]:
        """Each rail's pins that hold at `at`, by rail pk, in slot order."""
        found: dict[int, list[Pin]] = {}
        for pin in self.pins:
            if pin.is_live(at):
                found.setdefault(pin.rail_id, []).append(pin)
        return found

    def live_adjustments(self, at: datetime) -> list[Adjustment]:
        return [adjustment for adjustment in self.adjustments if adjustment.is_live(at)]

    def live_blocks(self, at: datetime) -> list[Block]:
        return [block for block in self.blocks if block.is_live(at)]

    def live_campaign(self, at: datetime, rail: Rail | None = None) -> Campaign | None:
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
    campaigns = list(Campaign.objects.filter(shop=shop))
    by_pk = {campaign.pk: campaign for campaign in campaigns}

    def with_campaigns(rules):
        # One copy of each campaign for every rule of it, instead of a join per kind of rule.
        for rule in rules:
            rule.campaign = by_pk.get(rule.campaign_id)
        return rules

    return Rulebook(
        token=token,
        rails=with_campaigns(list(Rail.objects.filter(shop=shop, enabled=True).order_by("position", "pk"))),
        pins=with_campaigns(list(Pin.objects.filter(rail__shop=shop).select_related("item").order_by("slot", "created_at", "pk"))),
        adjustments=with_campaigns(list(Adjustment.objects.filter(shop=shop).order_by("pk"))),
        blocks=with_campaigns(list(Block.objects.filter(shop=shop).order_by("pk"))),
        campaigns=campaigns,
    )


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


def _rule_saved_or_deleted(sender, instance, **kwargs) -> None:
    homepage_rules_changed(shop=instance.rail.shop if isinstance(instance, Pin) else instance.shop)


def rule_signals_connect() -> None:
    """Rule rows saved or deleted outside the merchandising services (a script, a fixture) count as changes too."""
    for model in (Rail, Pin, Adjustment, Block, Campaign):
        post_save.connect(_rule_saved_or_deleted, sender=model, dispatch_uid=f"homepage-rules-{model.__name__}")
        post_delete.connect(_rule_saved_or_deleted, sender=model, dispatch_uid=f"homepage-rules-{model.__name__}-delete")
