"""The Boosts, buries and blocks pages: each rule's status and matches, and the sampled impact of one."""

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from catalog.models import Shop
from homepage.rulebook import rulebook, rulebook_substituted
from homepage.services import Page, homepage_compose, shoppers_recently_active
from homepage.services.compose import PLACEHOLDER

from ..lookups import rule_items_matched
from ..models import Adjustment, Block, Campaign, Draft, Pin
from .preview import rules_read


RULE_KINDS: dict[str, type[Adjustment] | type[Block]] = {"adjustment": Adjustment, "block": Block}
RULES_ENDED_SHOWN_DAYS = 30
STATUS_ORDER = {"live": 0, "scheduled": 1, "ended": 2}


@dataclass
class RuleRow:
    rule: Adjustment | Block
    kind: str  # "adjustment" or "block", as the row's URLs name it
    status: str
    drafted: bool = False  # made by the open draft: not live yet (edits to it are kept in the draft too)
    items_matched: int = 0

    @property
    def impact_shown(self) -> bool:
        """Whether the row offers its sampled pages: a rule ended changes none."""
        return self.status != "ended"


def rule_get(*, shop: Shop, kind: str, pk: int) -> Adjustment | Block | None:
    model = RULE_KINDS.get(kind)
    return model.objects.filter(shop=shop, pk=pk).select_related("item", "campaign").first() if model else None


def rules_listed(
    *, shop: Shop, draft: Draft | None, now: datetime, campaign: Campaign | None = None
) -> dict[str, list[RuleRow]]:
    """The shop's boosts and buries, and its blocks (a campaign's alone when one is named), as the open
    draft would leave them: live first, then scheduled, then those ended in the last days."""
    live_pks = {kind: set(model.objects.filter(shop=shop).values_list("pk", flat=True)) for kind, model in RULE_KINDS.items()}
    recent = Q(ends_at__isnull=True) | Q(ends_at__gt=now - timedelta(days=RULES_ENDED_SHOWN_DAYS))

    def read() -> dict[str, list[RuleRow]]:
        listed = {}
        for kind, model in RULE_KINDS.items():
            rules = model.objects.filter(recent, shop=shop).select_related("item", "campaign")
            if campaign is not None:
                rules = rules.filter(campaign=campaign)
            rows = [
                RuleRow(
                    rule=rule, kind=kind, status=rule_status(rule=rule, at=now), drafted=rule.pk not in live_pks[kind],
                    items_matched=rule_items_matched(rule=rule),
                )
                for rule in rules
            ]
            listed[kind] = sorted(rows, key=lambda row: STATUS_ORDER[row.status])  # stable: newest first within
        return listed

    return rules_read(draft=draft, read=read)


def rule_row(*, rule: Adjustment | Block, draft: Draft | None, now: datetime) -> RuleRow | None:
    """A rule's row as the open draft would leave it (the rule live, or made by the draft); None when the draft
    deletes it."""
    kind = rule._meta.model_name

    live = RULE_KINDS[kind].objects.filter(pk=rule.pk).exists()

    def read() -> RuleRow | None:
        found = rule_get(shop=rule.shop, kind=kind, pk=rule.pk)
        if found is None:
            return None
        return RuleRow(
            rule=found, kind=kind, status=rule_status(rule=found, at=now), drafted=not live,
            items_matched=rule_items_matched(rule=found),
        )

    return rules_read(draft=draft, read=read)


RULE_IMPACT_SAMPLE = 20


@dataclass(frozen=True)
class RailEmptied:
    title: str  # placeholders shown as "…": each shopper's page fills them in its own way
    shoppers: int


@dataclass(frozen=True)
class RuleImpact:
    sampled: int  # shoppers whose pages were composed, the most recently active first
    changed: int  # of them, those whose page differs with the rule from the page without it
    emptied: list[RailEmptied]  # rails that show items without the rule and nothing with it


def _page_shown(page: Page) -> dict[str, list[int]]:
    return {rail.key: [entry.item.pk for entry in rail.items] for rail in page.rails}


def rule_impact(
    *, rule: Adjustment | Block, draft: Draft | None, now: datetime, sample: int = RULE_IMPACT_SAMPLE
) -> RuleImpact | None:
    """The homepages of up to `sample` recently active shoppers composed with the rule and without it, from the
    rules as the open draft would leave them, at the rule's start if that is ahead; None when the draft deletes
    the rule. Nothing is saved: the page without the rule is composed from a copy of the rules that lacks it."""
    shop = rule.shop
    shoppers = shoppers_recently_active(shop=shop, days=settings.VITRINE_PRECOMPUTE_DAYS, limit=sample)

    def read() -> RuleImpact | None:
        found = rule_get(shop=shop, kind=rule._meta.model_name, pk=rule.pk)
        if found is None:
            return None
        at, rules = max(now, found.starts_at), rulebook(shop=shop)
        others = {
            "adjustments": [other for other in rules.adjustments if not (isinstance(rule, Adjustment) and other.pk == rule.pk)],
            "blocks": [other for other in rules.blocks if not (isinstance(rule, Block) and other.pk == rule.pk)],
        }
        without_rule = replace(rules, **others)
        titles = {rail.key: PLACEHOLDER.sub("…", rail.title) for rail in rules.rails}
        changed, emptied = 0, Counter()
        for shopper in shoppers:
            shown = _page_shown(homepage_compose(shop=shop, shopper=shopper, now=at))
            with rulebook_substituted(shop=shop, rules=without_rule):
                shown_before = _page_shown(homepage_compose(shop=shop, shopper=shopper, now=at))
            changed += shown != shown_before
            emptied.update(key for key, items in shown_before.items() if items and not shown.get(key))
        return RuleImpact(
            sampled=len(shoppers),
            changed=changed,
            emptied=[RailEmptied(title=titles.get(key, key), shoppers=count) for key, count in emptied.most_common()],
        )

    return rules_read(draft=draft, read=read)


def rule_status(*, rule: Pin | Adjustment | Block, at: datetime) -> str:
    """live, scheduled (its start or its campaign's is ahead) or ended (its end or its campaign's is past)."""
    if rule.is_live(at):
        return "live"
    ends = [rule.ends_at, rule.campaign.ends_at if rule.campaign else None]
    return "ended" if any(end is not None and end <= at for end in ends) else "scheduled"
