"""Rules that cannot do what they say are refused before they are saved, with the reason beside the field.

A pin in a slot another pin holds, or past the rail's end; a boost of a brand the shop does not sell, a ×1
boost or the same boost twice; a campaign's rule dated outside the campaign; a title naming a placeholder
its rail cannot fill; a cap of 0. Every write of a rule passes here (merchandising.services.rules._saved),
from the console, a draft's replay or the admin alike.
"""

import string

from django.core.exceptions import ValidationError

from homepage.rules import TITLE_PLACEHOLDERS

from ..lookups import rule_items_matched
from ..models import Adjustment, Block, Campaign, Pin, Rail, Scheduled


def _overlaps(rule: Scheduled, other: Scheduled) -> bool:
    """Whether two schedules share a moment; an open end runs forever."""
    rule_first = other.ends_at is None or rule.starts_at < other.ends_at
    other_first = rule.ends_at is None or other.starts_at < rule.ends_at
    return rule_first and other_first


def _when(rule: Scheduled) -> str:
    until = f" until {rule.ends_at:%Y-%m-%d %H:%M} UTC" if rule.ends_at else ", with no end"
    return f"from {rule.starts_at:%Y-%m-%d %H:%M} UTC{until}"


def _pin_check(pin: Pin) -> dict[str, str]:
    rail = pin.rail
    if pin.slot > rail.size:
        return {"slot": f"Slot {pin.slot} is past the end of rail “{rail.key}”, which shows {rail.size} items."}
    others = Pin.objects.filter(rail=rail, slot=pin.slot).exclude(pk=pin.pk).select_related("item")
    taken = next((other for other in others if _overlaps(pin, other)), None)
    if taken is not None:
        return {"slot": (
            f"Slot {pin.slot} of “{rail.key}” already holds “{taken.item}” {_when(taken)}: "
            "end or move that pin first, or choose another slot."
        )}
    return {}


def _target_field(rule: Adjustment | Block) -> str:
    if rule.item_id is not None:
        return "item"
    if rule.category:
        return "category"
    return "brand" if rule.brand else "attribute_value"


def _target_check(rule: Adjustment | Block) -> dict[str, str]:
    if rule.item_id is not None or rule_items_matched(rule=rule):
        return {}
    if rule.category:
        return {"category": f"No item of this shop is in the category “{rule.category}” (or under it)."}
    if rule.brand:
        return {"brand": f"No item of this shop has the brand “{rule.brand}”."}
    return {"attribute_value": f"No item of this shop has {rule.attribute_key}={rule.attribute_value}."}


def _same_target(rule: Adjustment | Block):
    kind = type(rule)
    others = kind.objects.filter(shop=rule.shop).exclude(pk=rule.pk)
    if isinstance(rule, Adjustment):
        return [other for other in others.filter(target=rule.target) if other.target_key == rule.target_key]
    return list(others.filter(item_id=rule.item_id, category=rule.category, brand=rule.brand))


def _duplicate_check(rule: Adjustment | Block) -> dict[str, str]:
    twin = next((other for other in _same_target(rule) if _overlaps(rule, other)), None)
    if twin is None:
        return {}
    return {_target_field(rule): f"“{twin}” already applies to the same items {_when(twin)}: edit that rule instead."}


def _adjustment_check(adjustment: Adjustment) -> dict[str, str]:
    if adjustment.multiplier == 1:
        return {"multiplier": "×1 changes nothing: above 1 boosts, below 1 buries."}
    return _target_check(adjustment) or _duplicate_check(adjustment)


def _block_check(block: Block) -> dict[str, str]:
    return _target_check(block) or _duplicate_check(block)


def _campaign_dates_check(rule: Scheduled) -> dict[str, str]:
    campaign: Campaign | None = rule.campaign
    if campaign is None:
        return {}
    window = f"{campaign.starts_at:%Y-%m-%d %H:%M} to {campaign.ends_at:%Y-%m-%d %H:%M} UTC"
    if rule.starts_at >= campaign.ends_at:
        return {"starts_at": f"Starts after the campaign “{campaign}” ends; it runs {window}."}
    if rule.ends_at is not None and not campaign.starts_at < rule.ends_at <= campaign.ends_at:
        return {"ends_at": f"Must end inside the campaign “{campaign}”, which runs {window}; empty: when it ends."}
    return {}


def _rail_check(rail: Rail) -> dict[str, str]:
    errors = {}
    allowed = TITLE_PLACEHOLDERS.get(rail.kind, frozenset())
    named = {name for _, name, _, _ in string.Formatter().parse(rail.title) if name is not None}
    unknown = sorted(named - allowed)
    if unknown:
        can = f"it can name {', '.join('{' + name + '}' for name in sorted(allowed))}" if allowed else "it names none"
        errors["title"] = f"This rail cannot fill {', '.join('{' + name + '}' for name in unknown)}: {can}."
    for field, what in (("max_per_category", "category"), ("max_per_brand", "brand")):
        if getattr(rail, field) == 0:
            errors[field] = f"A cap of 0 per {what} would empty the rail; leave it empty for no cap."
    return errors


def _title_parse_check(rail: Rail) -> dict[str, str]:
    try:
        list(string.Formatter().parse(rail.title))
    except ValueError:
        return {"title": "Braces must pair up around a placeholder, e.g. “Because you viewed {seed}”."}
    return {}


def rule_guard(rule) -> None:
    """Raise ValidationError, by field, when the rule cannot do what it says."""
    if isinstance(rule, Rail):
        errors = _title_parse_check(rule) or _rail_check(rule)
    elif isinstance(rule, Pin):
        errors = _campaign_dates_check(rule) or _pin_check(rule)
    elif isinstance(rule, Adjustment):
        errors = _campaign_dates_check(rule) or _adjustment_check(rule)
    elif isinstance(rule, Block):
        errors = _campaign_dates_check(rule) or _block_check(rule)
    else:
        errors = {}
    if errors:
        raise ValidationError(errors)
