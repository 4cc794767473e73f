"""A web process loads what pages read before its first request, not during it.

The first page a process composes loads the catalog snapshot, the rules, every serving model and
torch's kernels: seconds of CPU that would otherwise land on a shopper's request, and on the requests
queued behind it, after every deploy or worker restart.
"""

from collections.abc import Callable

from catalog.models import Shop
from recommender.models import ModelVersion

from ..snapshot import MAX_SHOPS
from .compose import homepage_compose
from .precompute import shoppers_recently_active

WARM_DAYS = 30


def shops_serving() -> list[Shop]:
    """Shops with a serving model, the most recently promoted first; as many as a process keeps snapshots of."""
    latest = ModelVersion.objects.filter(is_active=True).order_by("-created_at").values_list("shop_id", flat=True)
    shop_ids = list(dict.fromkeys(latest))[:MAX_SHOPS]
    shops = Shop.objects.in_bulk(shop_ids)
    return [shops[pk] for pk in shop_ids]


def serving_warm(*, on_shop: Callable[[], None] = lambda: None) -> list[str]:
    """Compose, without caching it, one page per serving shop for its most recently active shopper (a cold-start
    page where it has none), so every model it serves runs once; returns the shops' slugs.

    `on_shop` is called after each shop: a web worker tells its master it is alive, or it would be
    restarted as stuck while warming many shops.
    """
    warmed = []
    for shop in shops_serving():
        active = shoppers_recently_active(shop=shop, days=WARM_DAYS, limit=1)
        homepage_compose(shop=shop, shopper=active[0] if active else None)
        warmed.append(shop.slug)
        on_shop()
    return warmed
