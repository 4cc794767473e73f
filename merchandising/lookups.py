"""Small reads that the services (writes) and the selectors (the console's reads) both need: who is a
merchandiser, a user's open draft, the items a rule matches. Below both, so neither imports the other for them."""

from django.db.models import Q, QuerySet

from catalog.models import CATEGORY_SEPARATOR, Item, Shop

from .models import Adjustment, AdjustmentTarget, Block, Draft


MERCHANDISER_GROUP = "merchandiser"


def open_draft(*, shop: Shop, user) -> Draft | None:
    return Draft.objects.filter(shop=shop, author=user, published_at=None, discarded_at=None).first()


def _items_of(rule: Adjustment | Block) -> QuerySet[Item]:
    items = Item.objects.filter(shop=rule.shop)
    if rule.item_id is not None:
        return items.filter(pk=rule.item_id)
    if rule.category:
        # As Item.in_category: a category names a node of the tree, "Makeup" holds "Makeup > Lips".
        return items.filter(Q(category_path=rule.category) | Q(category_path__startswith=rule.category + CATEGORY_SEPARATOR))
    if rule.brand:
        return items.filter(brand=rule.brand)
    return items.filter(**{f"attributes__{rule.attribute_key}__isnull": False})


def rule_items_matched(*, rule: Adjustment | Block) -> int:
    """How many of the shop's items the rule matches now, available or not."""
    if isinstance(rule, Adjustment) and rule.target == AdjustmentTarget.ATTRIBUTE:
        # Matched as the page matches them, on the value's text: 250 and "250" alike.
        values = _items_of(rule).values_list(f"attributes__{rule.attribute_key}", flat=True)
        return sum(1 for value in values.iterator() if str(value) == rule.attribute_value)
    return _items_of(rule).count()
