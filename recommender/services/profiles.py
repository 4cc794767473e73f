import re
from collections import Counter

from catalog.bounds import event_window
from catalog.models import Event, Shopper

from ..models import ShopperProfile

RECENCY_DECAY = 0.9
TOP = 5
STOPWORDS = frozenset(
    "the and for with from this that oz fl ounce ounces pack count set new size inch ml in of to by".split()
)
WORD = re.compile(r"[a-z][a-z\-]{2,}")


def _tags(rows: list[tuple[str, str, str, str]], weights: dict[str, float]) -> dict[str, list[str]]:
    categories, brands, words = Counter(), Counter(), Counter()
    for age, (kind, title, brand, path) in enumerate(reversed(rows)):
        weight = weights.get(kind, 0.0) * RECENCY_DECAY**age
        if weight <= 0:
            continue
        if path:
            categories[path] += weight
        if brand:
            brands[brand] += weight
        for word in set(WORD.findall(title.lower())) - STOPWORDS:
            words[word] += weight
    return {
        "categories": [name for name, _ in categories.most_common(TOP)],
        "brands": [name for name, _ in brands.most_common(TOP)],
        "keywords": [name for name, _ in words.most_common(TOP)],
    }


def shopper_profile_refresh(*, shopper: Shopper, limit: int = 50) -> ShopperProfile:
    """The shopper's interest tags from their latest weighted events, newest counting most."""
    rows = list(
        Event.objects.filter(shopper=shopper, item__isnull=False, occurred_at__range=event_window())
        .order_by("-occurred_at", "-pk")
        .values_list("type", "item__title", "item__brand", "item__category_path")[:limit]
    )
    rows.reverse()
    weights = {kind: shopper.shop.event_weight(kind) for kind, *_ in rows}
    profile, _ = ShopperProfile.objects.update_or_create(shopper=shopper, defaults={"tags": _tags(rows, weights)})
    return profile
