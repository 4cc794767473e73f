"""Writes to the homepage rules. Each one is audit-logged and marks the shop's cached pages stale, so
no shopper is served a rule that changed; the console and the admin change rules only through here.

The create services take the `pk` a draft reserved for the row (services.drafts): every replay of the draft
makes the same row, so the merchandiser can edit it before publishing, and it keeps that id once live."""

from datetime import datetime

from django.db import transaction

from catalog.models import Item, Shop
from homepage.cache import homepage_rules_changed
from homepage.defaults import DEFAULT_RAILS

from ..models import Adjustment, Block, Campaign, Pin, Rail
from .audit import audit_record, rule_state
from .guardrails import rule_guard

RAIL_FIELDS = {
    "title", "kind", "size", "enabled", "position", "blend_weights", "diversity", "max_per_category",
    "max_per_brand", "exploration_share", "campaign",
}
CAMPAIGN_FIELDS = {"name", "starts_at", "ends_at", "banner_title", "banner_image_url", "banner_link_url"}
SCHEDULE_FIELDS = {"starts_at", "ends_at", "campaign", "note"}
RULE_FIELDS = {
    Pin: SCHEDULE_FIELDS | {"rail", "item", "slot"},
    Adjustment: SCHEDULE_FIELDS | {"target", "item", "category", "brand", "attribute_key", "attribute_value", "multiplier"},
    Block: SCHEDULE_FIELDS | {"item", "category", "brand"},
}

Rule = Rail | Pin | Adjustment | Block | Campaign


def rule_shop(rule: Rule) -> Shop:
    return rule.rail.shop if isinstance(rule, Pin) else rule.shop


@transaction.atomic
def default_rails_ensure(*, shop: Shop) -> list[Rail]:
    """The default page for a shop that has no rails yet; a shop with rails is left as it is. Every rail of the
    shop, in page order."""
    if not Rail.objects.filter(shop=shop).exists():
        Rail.objects.bulk_create(
            [Rail(shop=shop, position=(number + 1) * 10, **spec) for number, spec in enumerate(DEFAULT_RAILS)],
            ignore_conflicts=True,  # two first requests at once both seed: the unique key keeps one set
        )
        homepage_rules_changed(shop=shop)
    return list(Rail.objects.filter(shop=shop).order_by("position", "pk"))


def _saved(rule: Rule, *, actor, action: str, before: dict | None = None) -> Rule:
    rule.full_clean()
    rule_guard(rule)
    rule.save()
    shop = rule_shop(rule)
    audit_record(shop=shop, actor=actor, action=action, rule=rule, before=before, after=rule_state(rule))
    homepage_rules_changed(shop=shop)
    return rule


def _same_shop(shop: Shop, *rows) -> None:
    for row in rows:
        if row is None:
            continue
        owner = row.rail.shop_id if isinstance(row, Pin) else row.shop_id
        if owner != shop.pk:
            raise ValueError(f"{row!r} belongs to another shop.")


def _fields_check(fields: dict, allowed: frozenset | set, kind: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Unknown {kind} fields: {', '.join(sorted(unknown))}")


def _scheduled(rule, starts_at: datetime | None):
    if starts_at is not None:  # else the model's default: from now
        rule.starts_at = starts_at
    return rule


@transaction.atomic
def rail_create(*, shop: Shop, key: str, title: str, kind: str, actor=None, pk: int | None = None, **fields) -> Rail:
    _fields_check(fields, RAIL_FIELDS, "rail")
    _same_shop(shop, fields.get("campaign"))
    return _saved(Rail(pk=pk, shop=shop, key=key, title=title, kind=kind, **fields), actor=actor, action="rail_create")


@transaction.atomic
def rail_update(*, rail: Rail, actor=None, **fields) -> Rail:
    _fields_check(fields, RAIL_FIELDS, "rail")
    _same_shop(rail.shop, fields.get("campaign"))
    before = rule_state(rail)
    for name, value in fields.items():
        setattr(rail, name, value)
    return _saved(rail, actor=actor, action="rail_update", before=before)


@transaction.atomic
def rails_reorder(*, shop: Shop, keys: list[str], actor=None) -> list[Rail]:
    """Put the named rails first, in that order; the shop's other rails keep their order after them."""
    rails = {rail.key: rail for rail in Rail.objects.filter(shop=shop).order_by("position", "pk")}
    unknown = [key for key in keys if key not in rails]
    if unknown:
        raise ValueError(f"Unknown rails: {', '.join(unknown)}")
    ordered = [rails[key] for key in dict.fromkeys(keys)] + [rail for key, rail in rails.items() if key not in keys]
    before = {rail.key: rail.position for rail in ordered}
    for position, rail in enumerate(ordered):
        rail.position = position
    Rail.objects.bulk_update(ordered, ["position"])
    audit_record(
        shop=shop, actor=actor, action="rails_reorder", before=before,
        after={rail.key: rail.position for rail in ordered}, object_repr="page order",
    )
    homepage_rules_changed(shop=shop)
    return ordered


@transaction.atomic
def pin_create(
    *, rail: Rail, item: Item, slot: int, starts_at: datetime | None = None, ends_at: datetime | None = None,
    campaign: Campaign | None = None, note: str = "", actor=None, pk: int | None = None,
) -> Pin:
    _same_shop(rail.shop, item, campaign)
    pin = _scheduled(Pin(pk=pk, rail=rail, item=item, slot=slot, ends_at=ends_at, campaign=campaign, note=note), starts_at)
    return _saved(pin, actor=actor, action="pin_create")


@transaction.atomic
def adjustment_create(
    *, shop: Shop, target: str, multiplier: float, item: Item | None = None, category: str = "", brand: str = "",
    attribute_key: str = "", attribute_value: str = "", starts_at: datetime | None = None,
    ends_at: datetime | None = None, campaign: Campaign | None = None, note: str = "", actor=None, pk: int | None = None,
) -> Adjustment:
    """A boost (multiplier > 1) or a bury (< 1) of an item, a category, a brand or an attribute value."""
    _same_shop(shop, item, campaign)
    adjustment = Adjustment(
        pk=pk, shop=shop, target=target, multiplier=multiplier, item=item, category=category, brand=brand,
        attribute_key=attribute_key, attribute_value=attribute_value, ends_at=ends_at, campaign=campaign, note=note,
    )
    return _saved(_scheduled(adjustment, starts_at), actor=actor, action="adjustment_create")


@transaction.atomic
def block_create(
    *, shop: Shop, item: Item | None = None, category: str = "", brand: str = "", starts_at: datetime | None = None,
    ends_at: datetime | None = None, campaign: Campaign | None = None, note: str = "", actor=None, pk: int | None = None,
) -> Block:
    _same_shop(shop, item, campaign)
    block = Block(pk=pk, shop=shop, item=item, category=category, brand=brand, ends_at=ends_at, campaign=campaign, note=note)
    return _saved(_scheduled(block, starts_at), actor=actor, action="block_create")


@transaction.atomic
def rule_update(*, rule: Pin | Adjustment | Block, actor=None, **fields) -> Pin | Adjustment | Block:
    """Edit a pin, adjustment or block in place: its target, slot, multiplier or schedule."""
    kind = type(rule)
    _fields_check(fields, RULE_FIELDS[kind], kind._meta.verbose_name)
    shop = rule_shop(rule)
    _same_shop(shop, fields.get("item"), fields.get("campaign"), fields.get("rail"))
    before = rule_state(rule)
    for name, value in fields.items():
        setattr(rule, name, value)
    return _saved(rule, actor=actor, action=f"{kind._meta.model_name}_update", before=before)


@transaction.atomic
def campaign_create(
    *, shop: Shop, name: str, starts_at: datetime, ends_at: datetime, actor=None, pk: int | None = None, **fields
) -> Campaign:
    _fields_check(fields, CAMPAIGN_FIELDS, "campaign")
    campaign = Campaign(pk=pk, shop=shop, name=name, starts_at=starts_at, ends_at=ends_at, **fields)
    return _saved(campaign, actor=actor, action="campaign_create")


@transaction.atomic
def campaign_update(*, campaign: Campaign, actor=None, **fields) -> Campaign:
    _fields_check(fields, CAMPAIGN_FIELDS, "campaign")
    before = rule_state(campaign)
    for name, value in fields.items():
        setattr(campaign, name, value)
    return _saved(campaign, actor=actor, action="campaign_update", before=before)


@transaction.atomic
def rule_end(*, rule: Pin | Adjustment | Block, at: datetime, actor=None) -> Pin | Adjustment | Block:
    """End a pin, adjustment or block at `at` (kept for the record, unlike a delete)."""
    before = rule_state(rule)
    rule.ends_at = at
    return _saved(rule, actor=actor, action=f"{rule._meta.model_name}_end", before=before)


@transaction.atomic
def rule_delete(*, rule: Rule, actor=None) -> None:
    """Delete a rail, pin, adjustment, block or campaign."""
    shop = rule_shop(rule)
    before, label, pk = rule_state(rule), str(rule), rule.pk
    rule.delete()
    rule.pk = pk  # the audit entry names the row that was
    audit_record(shop=shop, actor=actor, action=f"{rule._meta.model_name}_delete", rule=rule, before=before, object_repr=label)
    homepage_rules_changed(shop=shop)
