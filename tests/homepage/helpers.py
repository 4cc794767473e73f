"""Homepage test helpers: events at a given age, text vectors that set categories far apart, and the serving
encoder's own vectors."""

import itertools
from datetime import timedelta

import numpy as np
from django.utils import timezone

from catalog.models import Event, EventType
from recommender.models import ItemEmbedding, TEXT_DIMENSIONS

_event_ids = itertools.count()


def record(shopper, item, kind=EventType.VIEW, *, minutes_ago: float = 0.0, context=None) -> Event:
    return Event.objects.create(
        shop=shopper.shop, shopper=shopper, item=item, type=kind, event_id=f"hp-{next(_event_ids)}",
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago), context=context or {},
    )


def embed_by_category(items) -> None:
    """One direction per category plus a little per-item noise: same category close, others far."""
    directions: dict[str, int] = {}
    rng = np.random.default_rng(7)
    rows = []
    for item in items:
        axis = directions.setdefault(item.category_path, len(directions))
        vector = rng.normal(scale=0.05, size=TEXT_DIMENSIONS)
        vector[axis] += 1.0
        rows.append(ItemEmbedding(item=item, encoder="test", text_hash="test", vector=(vector / np.linalg.norm(vector)).tolist()))
    ItemEmbedding.objects.bulk_create(rows)




def embed_with_the_serving_encoder(shop) -> None:
    """Every item of the shop embedded as training embeds them (MiniLM, unless a fine-tuned encoder serves)."""
    from recommender.selectors import shop_arrays_load
    from recommender.services import item_embeddings_refresh

    arrays = shop_arrays_load(shop=shop)
    item_embeddings_refresh(shop=shop, item_pks=arrays.item_pks, texts=arrays.data.item_texts, device="cpu")
