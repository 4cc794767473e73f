"""Pages of the shoppers active lately, composed ahead of their next visit so that it is a cache hit.

A page composed on request costs tens of milliseconds of CPU; a cached one a few. Shoppers who come
back are mostly the ones active lately, so the worker composes their pages on a schedule (and their
model candidates and interest tags with them). A shopper's new event still drops their page at once:
their next request composes it fresh.
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from catalog.bounds import event_latest
from catalog.models import Shop, Shopper
from recommender.services import shopper_profile_refresh

from ..rules import rule_store
from .serve import homepage_layout

Progress = Callable[[str, int, int], None]


def shoppers_recently_active(*, shop: Shop, days: int, limit: int) -> list[Shopper]:
    """Shoppers with an event in the last `days`, the most recently active first; opted-out ones left out.

    An event dated past catalog.bounds' window (written around the API) makes no one recently active.
    """
    now = timezone.now()
    window = (now - timedelta(days=days), event_latest(now=now))
    return list(
        Shopper.objects.filter(shop=shop, personalization_opt_out=False, events__occurred_at__range=window)
        .annotate(last_active=Max("events__occurred_at"))
        .order_by("-last_active", "pk")[:limit]
    )


def homepages_precompute(
    *,
    shop: Shop,
    days: int = settings.VITRINE_PRECOMPUTE_DAYS,
    limit: int = settings.VITRINE_PRECOMPUTE_SHOPPERS,
    progress: Progress | None = None,
) -> int:
    """Cache the default page of up to `limit` shoppers active in the last `days`; returns how many.

    A page still cached is left as it is, so a run costs only the pages that changed or expired.
    """
    # Seeding a new shop's rails is a rule change: done first, so no page is cached under the rules before it.
    rule_store().default_rails_ensure(shop=shop)
    shoppers = shoppers_recently_active(shop=shop, days=days, limit=limit)
    for done, shopper in enumerate(shoppers, start=1):
        shopper_profile_refresh(shopper=shopper)
        homepage_layout(shop=shop, shopper_external_id=shopper.external_id)
        if progress:
            progress("pages", done, len(shoppers))
    return len(shoppers)
