import hashlib
import logging

import numpy as np
from django.conf import settings

from catalog.models import Shop
from homepage.cache import homepage_catalog_changed

from ..models import ItemEmbedding

logger = logging.getLogger(__name__)
WRITE_BATCH = 1000


def text_model_path() -> str:
    from recommender.ml.nets.text_encoder import default_model_path

    return settings.VITRINE_TEXT_MODEL_PATH or default_model_path()


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def item_embeddings_refresh(*, shop: Shop, item_pks: np.ndarray, texts: list[str], device: str, progress=None) -> np.ndarray:
    """Embed the items whose text or encoder changed, store them, and return every item's vector in order."""
    from recommender.ml.trainer import embed_items

    encoder = text_model_path()
    hashes = [_text_hash(text) for text in texts]
    stored = dict(
        (pk, (text_hash, stored_encoder))
        for pk, text_hash, stored_encoder in ItemEmbedding.objects.filter(item__shop=shop).values_list(
            "item_id", "text_hash", "encoder"
        )
    )
    stale = [index for index, pk in enumerate(item_pks.tolist()) if stored.get(pk) != (hashes[index], encoder)]
    logger.info("Shop %s: embedding %d of %d items on %s", shop.slug, len(stale), len(item_pks), device)
    if stale:
        vectors = embed_items([texts[index] for index in stale], encoder, device, progress or (lambda fraction, message: None))
        for start in range(0, len(stale), WRITE_BATCH):
            chunk = stale[start : start + WRITE_BATCH]
            ItemEmbedding.objects.bulk_create(
                [
                    ItemEmbedding(item_id=int(item_pks[index]), encoder=encoder, text_hash=hashes[index], vector=vectors[start + offset])
                    for offset, index in enumerate(chunk)
                ],
                update_conflicts=True,
                unique_fields=["item"],
                update_fields=["encoder", "text_hash", "vector", "updated_at"],
            )
        homepage_catalog_changed(shop=shop)  # the homepage keeps the vectors per process
    vectors = dict(ItemEmbedding.objects.filter(item__shop=shop).values_list("item_id", "vector"))
    return np.stack([np.asarray(vectors[pk], dtype=np.float32) for pk in item_pks.tolist()])
