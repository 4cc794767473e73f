"""What an item card says about the rules that placed the item: in words, so that no badge is colour alone."""

from django import template

from homepage.rules import RailKind
from homepage.services import PageItem

register = template.Library()


@register.filter
def item_badges(entry: PageItem, rail_kind: str) -> list[tuple[str, str]]:
    """(style, label) pairs for a pinned, boosted or buried item and one of a campaign's rail, read from the
    item's explanation; the rules there are named as Adjustment names them ("Boost ×3 item …")."""
    why = entry.explanation or {}
    rules = why.get("rules", [])
    badges = []
    if why.get("pinned"):
        badges.append(("pinned", "Pinned"))
    if any(rule.startswith("Boost ") for rule in rules):
        badges.append(("boosted", "Boosted"))
    if any(rule.startswith("Bury ") for rule in rules):
        badges.append(("buried", "Buried"))
    if rail_kind == RailKind.CAMPAIGN:
        badges.append(("campaign", "Campaign"))
    return badges
