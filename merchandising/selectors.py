from django.db.models import QuerySet

from catalog.models import Event, Item, Shop, Shopper

MERCHANDISER_GROUP = "merchandiser"


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
