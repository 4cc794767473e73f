from django.db.models import Q, QuerySet

from catalog.models import Event, Item, Shop, Shopper

from .models import AuditEntry, Draft

MERCHANDISER_GROUP = "merchandiser"
ITEM_SEARCH_LIMIT = 12


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
        "events": Event.objects.filter(shop=shop).count(),
    }


def open_draft(*, shop: Shop, user) -> Draft | None:
    return Draft.objects.filter(shop=shop, author=user, published_at=None, discarded_at=None).first()


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


def audit_entries(*, shop: Shop, action: str = "", limit: int = 100) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(shop=shop).select_related("user")
    if action:
        entries = entries.filter(Q(action=action) | Q(action__startswith=f"{action}_"))
    return entries[:limit]
