from .models import Item, Shop


def item_get(*, shop: Shop, external_id: str) -> Item | None:
    return Item.objects.filter(shop=shop, external_id=external_id).first()
