"""Writes to the homepage rules. Each one marks the shop's cached pages stale, so no shopper is served
a rule that changed; the console and the admin change rules only through here."""

from datetime import datetime

from django.db import transaction

from catalog.models import Item, Shop
from homepage.cache import homepage_rules_changed

from .models import Adjustment, Block, Campaign, Pin, Rail

RAIL_FIELDS = {
    "title", "kind", "size", "enabled", "position", "blend_weights", "diversity", "max_per_category",
    "max_per_brand", "exploration_share", "campaign",
}
CAMPAIGN_FIELDS = {"name", "starts_at", "ends_at", "banner_title", "banner_image_url", "banner_link_url"}


def _saved(rule, *, shop: Shop):
    rule.full_clean()
    rule.save()
    homepage_rules_changed(shop=shop)
    return rule


def _same_shop(shop: Shop, *rows) -> None:
    for row in rows:
        if row is not None and row.shop_id != shop.pk:
            raise ValueError(f"{row!r} belongs to another shop.")


def _fields_check(fields: dict, allowed: frozenset | set, kind: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Unknown {kind} fields: {', '.join(sorted(unknown))}")


@transaction.atomic
def rail_create(*, shop: Shop, key: str, title: str, kind: str, **fields) -> Rail:
    _fields_check(fields, RAIL_FIELDS, "rail")
    _same_shop(shop, fields.get("campaign"))
    return _saved(Rail(shop=shop, key=key, title=title, kind=kind, **fields), shop=shop)


@transaction.atomic
def rail_update(*, rail: Rail, **fields) -> Rail:
    _fields_check(fields, RAIL_FIELDS, "rail")
    _same_shop(rail.shop, fields.get("campaign"))
    for name, value in fields.items():
        setattr(rail, name, value)
    return _saved(rail, shop=rail.shop)


def rail_delete(*, rail: Rail) -> None:
    shop = rail.shop
    rail.delete()
    homepage_rules_changed(shop=shop)


@transaction.atomic
def pin_create(
    *, rail: Rail, item: Item, slot: int, starts_at: datetime | None = None, ends_at: datetime | None = None,
    campaign: Campaign | None = None, note: str = "",
) -> Pin:
    _same_shop(rail.shop, item, campaign)
    pin = Pin(rail=rail, item=item, slot=slot, ends_at=ends_at, campaign=campaign, note=note)
    if starts_at is not None:
        pin.starts_at = starts_at
    return _saved(pin, shop=rail.shop)


@transaction.atomic
def adjustment_create(
    *, shop: Shop, target: str, multiplier: float, item: Item | None = None, category: str = "", brand: str = "",
    attribute_key: str = "", attribute_value: str = "", starts_at: datetime | None = None,
    ends_at: datetime | None = None, campaign: Campaign | None = None, note: str = "",
) -> Adjustment:
    """A boost (multiplier > 1) or a bury (< 1) of an item, a category, a brand or an attribute value."""
    _same_shop(shop, item, campaign)
    adjustment = Adjustment(
        shop=shop, target=target, multiplier=multiplier, item=item, category=category, brand=brand,
        attribute_key=attribute_key, attribute_value=attribute_value, ends_at=ends_at, campaign=campaign, note=note,
    )
    if starts_at is not None:
        adjustment.starts_at = starts_at
    return _saved(adjustment, shop=shop)


@transaction.atomic
def block_create(
    *, shop: Shop, item: Item | None = None, category: str = "", brand: str = "", starts_at: datetime | None = None,
    ends_at: datetime | None = None, campaign: Campaign | None = None, note: str = "",
) -> Block:
    _same_shop(shop, item, campaign)
    block = Block(shop=shop, item=item, category=category, brand=brand, ends_at=ends_at, campaign=campaign, note=note)
    if starts_at is not None:
        block.starts_at = starts_at
    return _saved(block, shop=shop)


@transaction.atomic
def campaign_create(*, shop: Shop, name: str, starts_at: datetime, ends_at: datetime, **fields) -> Campaign:
    _fields_check(fields, CAMPAIGN_FIELDS, "campaign")
    return _saved(Campaign(shop=shop, name=name, starts_at=starts_at, ends_at=ends_at, **fields), shop=shop)


@transaction.atomic
def campaign_update(*, campaign: Campaign, **fields) -> Campaign:
    _fields_check(fields, CAMPAIGN_FIELDS, "campaign")
    for name, value in fields.items():
        setattr(campaign, name, value)
    return _saved(campaign, shop=campaign.shop)


def rule_end(*, rule: Pin | Adjustment | Block, at: datetime) -> Pin | Adjustment | Block:
    """End a pin, adjustment or block at `at` (kept for the record, unlike a delete)."""
    rule.ends_at = at
    shop = rule.rail.shop if isinstance(rule, Pin) else rule.shop
    return _saved(rule, shop=shop)


def rule_delete(*, rule: Pin | Adjustment | Block | Campaign) -> None:
    shop = rule.rail.shop if isinstance(rule, Pin) else rule.shop
    rule.delete()
    homepage_rules_changed(shop=shop)
