import factory
from django.utils import timezone

from catalog.models import Event, EventType, Item, Shop, Shopper


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.LazyAttribute(lambda shop: shop.slug.title())


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    shop = factory.SubFactory(ShopFactory)
    external_id = factory.Sequence(lambda n: f"item-{n}")
    title = factory.Sequence(lambda n: f"Item {n}")
    category_path = "Makeup > Nails"
    content_hash = factory.Sequence(lambda n: f"{n:040d}")


class ShopperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shopper

    shop = factory.SubFactory(ShopFactory)
    external_id = factory.Sequence(lambda n: f"shopper-{n}")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    shop = factory.SelfAttribute("shopper.shop")
    shopper = factory.SubFactory(ShopperFactory)
    item = factory.SubFactory(ItemFactory, shop=factory.SelfAttribute("..shop"))
    event_id = factory.Sequence(lambda n: f"event-{n}")
    type = EventType.VIEW
    occurred_at = factory.LazyFunction(timezone.now)
