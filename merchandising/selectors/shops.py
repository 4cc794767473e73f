"""Who may enter the console and which shops they work in; the catalog's counts, items, categories and brands."""


from django.db.models import QuerySet, Sum

from catalog.models import CATEGORY_SEPARATOR, EventHour, Item, Shop, Shopper


from ..lookups import MERCHANDISER_GROUP


ITEM_SEARCH_LIMIT = 12
TARGET_VALUES_LIMIT = 1000


def user_can_enter_console(user) -> bool:
    return user.is_active and (user.is_staff or user.groups.filter(name=MERCHANDISER_GROUP).exists())


def shops_for_user(user) -> QuerySet[Shop]:
    if user.is_superuser:
        return Shop.objects.all()
    return Shop.objects.filter(memberships__user=user)


def shop_counts(*, shop: Shop) -> dict[str, int]:
    return {
        "items": Item.objects.filter(shop=shop).count(),
        "shoppers": Shopper.objects.filter(shop=shop).count(),
        "events": EventHour.objects.filter(shop=shop).aggregate(total=Sum("events"))["total"] or 0,
    }


def items_search(*, shop: Shop, query: str, limit: int = ITEM_SEARCH_LIMIT) -> list[Item]:
    """Items whose id is the query or whose title holds every word of it; exact ids first."""
    query = query.replace("\x00", "").strip()  # PostgreSQL text holds no NUL; nothing could match one
    if not query:
        return []
    exact = list(Item.objects.filter(shop=shop, external_id=query)[:1])
    titled = Item.objects.filter(shop=shop).exclude(external_id=query)
    for word in query.split()[:6]:
        titled = titled.filter(title__icontains=word)
    return exact + list(titled.order_by("-interaction_count", "pk")[: limit - len(exact)])


def catalog_categories(*, shop: Shop, limit: int = TARGET_VALUES_LIMIT) -> list[str]:
    """The category nodes of the shop's catalog (each path and the paths above it), for rule targets."""
    paths = (
        Item.objects.filter(shop=shop).exclude(category_path="").order_by("category_path")
        .values_list("category_path", flat=True).distinct()[:limit]
    )
    nodes = set()
    for path in paths:
        parts = path.split(CATEGORY_SEPARATOR)
        nodes.update(CATEGORY_SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts) + 1))
    return sorted(nodes)


def catalog_brands(*, shop: Shop, limit: int = TARGET_VALUES_LIMIT) -> list[str]:
    return list(Item.objects.filter(shop=shop).exclude(brand="").order_by("brand").values_list("brand", flat=True).distinct()[:limit])
