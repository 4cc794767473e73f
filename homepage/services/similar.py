"""Items like one item: close in text, and engaged with by the same shoppers."""

from dataclasses import dataclass

from django.utils import timezone

from catalog.models import Item, Shop

from .. import selectors
from .context import page_context_build
from .ranking import blend_weights, candidates_filter
from .sources import similar_families

SIMILAR_BLEND = {"text": 0.45, "co_engagement": 0.35, "mf": 0.2}


@dataclass
class SimilarItem:
    item: Item
    score: float
    reason: str


def similar_items(*, shop: Shop, item: Item, k: int = 10) -> list[SimilarItem]:
    """Up to k available, unblocked items like `item`, best first, by blended ranks of text similarity,
    co-engagement (shoppers who engaged with it engaged with these) and MF neighbours."""
    now = timezone.now()
    context = page_context_build(shop=shop, shopper=None, now=now, exclude={item.pk})
    families = similar_families(context, item.pk)
    together = selectors.co_occurring_items(shop=shop, item_pks=[item.pk], types=selectors.INTEREST_TYPES, now=now)
    if together:
        families["co_engagement"] = together
    if not families and item.top_category:
        families["category"] = context.newest_items(category=item.top_category)
    pool = [pk for ranked in families.values() for pk, _ in ranked]
    allowed = set(candidates_filter(context, pool, leave_out_own=False, reserved=set()))
    weights = blend_weights(families, SIMILAR_BLEND)
    scores: dict[int, float] = {}
    best_family: dict[int, tuple[float, str]] = {}
    for family, weight in weights.items():
        kept = [pk for pk, _ in sorted(families[family], key=lambda pair: -pair[1]) if pk in allowed]
        for rank, pk in enumerate(kept):
            contribution = weight * (len(kept) - rank) / len(kept)
            scores[pk] = scores.get(pk, 0.0) + contribution
            if contribution > best_family.get(pk, (0.0, ""))[0]:
                best_family[pk] = (contribution, family)
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
    reasons = {
        "co_engagement": f"Shoppers who liked {item.title} also liked this",
        "mf": f"Shoppers who liked {item.title} also liked this",
    }
    return [
        SimilarItem(item=context.items[pk], score=score, reason=reasons.get(best_family[pk][1], f"Similar to {item.title}"))
        for pk, score in ranked
    ]
