"""Shoppers found by id, their latest events and interest tags."""


from django.db.models import Count, QuerySet

from catalog.bounds import event_window
from catalog.models import Event, Shop, Shopper
from recommender.selectors import shopper_interest_tags


SHOPPER_SEARCH_LIMIT = 10


def shoppers_search(*, shop: Shop, query: str, limit: int = SHOPPER_SEARCH_LIMIT) -> QuerySet[Shopper]:
    """The shop's shoppers whose id starts with the query, those with the most events first."""
    query = query.replace("\x00", "").strip()
    shoppers = Shopper.objects.filter(shop=shop, external_id__startswith=query) if query else Shopper.objects.filter(shop=shop)
    return shoppers.annotate(activity=Count("events")).order_by("-activity", "external_id")[:limit]


def shopper_events_recent(*, shopper: Shopper, limit: int = 20) -> QuerySet[Event]:
    # Outside catalog.bounds' window an occurred_at may be one Python cannot read.
    events = Event.objects.filter(shopper=shopper, occurred_at__range=event_window())
    return events.select_related("item").order_by("-occurred_at", "-pk")[:limit]


def shopper_tags(*, shopper: Shopper) -> dict[str, list[tuple[str, float]]]:
    """The shopper's interest tags as of now, with their weights: categories, brands, keywords, searches."""
    return shopper_interest_tags(shopper=shopper)


def shopper_find(*, shop: Shop, external_id: str) -> Shopper | None:
    return Shopper.objects.filter(shop=shop, external_id=external_id).first()
