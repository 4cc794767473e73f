import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from catalog.models import Item, Shop
from catalog.signals import items_changed

from ..dispatch import vector_indexes_queue
from ..models import Family, ItemEmbedding, ModelVersion, QueryEmbedding
from ..ml.nets.text_encoder import query_normalized
from ..selectors import active_version

logger = logging.getLogger(__name__)
WRITE_BATCH = 1000
# Beside a fine-tuned encoder's model, the vectors its training run computed for every item, with their text hashes.
VECTORS_FOLDER = "vectors"


def text_model_path() -> str:
    from recommender.ml.nets.text_encoder import default_model_path

    return settings.VITRINE_TEXT_MODEL_PATH or default_model_path()


@dataclass(frozen=True)
class ServingEncoder:
    """The encoder whose vectors the shop's items carry: the serving fine-tuned version, else the base model."""

    key: str  # stored with each vector, so a change of encoder makes every vector stale
    version: ModelVersion | None

    def embed(self, texts: list[str], device: str, progress) -> np.ndarray:
        from recommender.ml.trainer import embed_items

        fine_tuned = None if self.version is None else Path(self.version.artifact_path) / "model"
        return embed_items(texts, text_model_path(), device, progress, fine_tuned=fine_tuned)

    def vectors_computed(self) -> dict[tuple[int, str], np.ndarray]:
        """(item pk, text hash) to the vector the fine-tuning run computed; empty for the base model."""
        if self.version is None:
            return {}
        from recommender.ml.registry import load_arrays

        directory = Path(self.version.artifact_path)
        _, index = load_arrays(directory / "index")
        _, stored = load_arrays(directory / VECTORS_FOLDER)
        keys = zip(index["item_pks"].tolist(), stored["text_hashes"].tolist())
        return {key: vector for key, vector in zip(keys, stored["vectors"])}


def serving_encoder(*, shop: Shop) -> ServingEncoder:
    version = active_version(shop=shop, family=Family.FINETUNED_TEXT)
    if version is None:
        return ServingEncoder(key=text_model_path(), version=None)
    return ServingEncoder(key=f"{Family.FINETUNED_TEXT}#{version.pk}", version=version)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _stale_embed(*, shop: Shop, item_pks: list[int], texts: list[str], device: str, progress) -> int:
    """Embed and store those of the items whose text or encoder changed since their vector was written; returns
    how many. The encoder is the one serving for the shop (see `serving_encoder`); vectors its training run already
    computed for an unchanged text are reused rather than computed again."""
    encoder = serving_encoder(shop=shop)
    hashes = [text_hash(text) for text in texts]
    stored = {
        pk: (stored_hash, stored_encoder)
        for pk, stored_hash, stored_encoder in ItemEmbedding.objects.filter(item__shop=shop, item_id__in=item_pks).values_list(
            "item_id", "text_hash", "encoder"
        )
    }
    stale = [index for index, pk in enumerate(item_pks) if stored.get(pk) != (hashes[index], encoder.key)]
    if not stale:
        return 0
    computed = encoder.vectors_computed()
    fresh = {index: computed[key] for index in stale if (key := (item_pks[index], hashes[index])) in computed}
    missing = [index for index in stale if index not in fresh]
    logger.info("Shop %s: embedding %d of %d items with %s on %s", shop.slug, len(missing), len(item_pks), encoder.key, device)
    if missing:
        vectors = encoder.embed([texts[index] for index in missing], device, progress or (lambda fraction, message: None))
        fresh.update(zip(missing, vectors))
    for start in range(0, len(stale), WRITE_BATCH):
        ItemEmbedding.objects.bulk_create(
            [
                ItemEmbedding(item_id=item_pks[index], encoder=encoder.key, text_hash=hashes[index], vector=fresh[index])
                for index in stale[start : start + WRITE_BATCH]
            ],
            update_conflicts=True,
            unique_fields=["item"],
            update_fields=["encoder", "text_hash", "vector", "updated_at"],
        )
    items_changed.send(sender=ItemEmbedding, shop=shop)  # the homepage keeps the vectors per process
    return len(stale)


def item_embeddings_refresh(*, shop: Shop, item_pks: np.ndarray, texts: list[str], device: str, progress=None) -> np.ndarray:
    """Embed the items whose text or encoder changed, store them, and return every item's vector in order."""
    embedded = _stale_embed(shop=shop, item_pks=item_pks.tolist(), texts=texts, device=device, progress=progress)
    if embedded and len(item_pks) >= settings.VITRINE_ANN_MIN_ITEMS:
        vector_indexes_queue()  # its index no longer holds most vectors
    vectors = dict(ItemEmbedding.objects.filter(item__shop=shop).values_list("item_id", "vector"))
    return np.stack([np.asarray(vectors[pk], dtype=np.float32) for pk in item_pks.tolist()])


def query_embeddings_write(*, shop: Shop, queries: list[str], device: str = "cpu") -> int:
    """Embed the shop's search words not yet embedded by its serving encoder, and store them; returns how many."""
    encoder = serving_encoder(shop=shop)
    texts = sorted({query_normalized(query) for query in queries} - {""})
    current = set(QueryEmbedding.objects.filter(shop=shop, text__in=texts, encoder=encoder.key).values_list("text", flat=True))
    missing = [text for text in texts if text not in current]
    if not missing:
        return 0
    vectors = encoder.embed(missing, device, lambda fraction, message: None)
    QueryEmbedding.objects.bulk_create(
        [QueryEmbedding(shop=shop, text=text, encoder=encoder.key, vector=vector) for text, vector in zip(missing, vectors)],
        update_conflicts=True, unique_fields=["shop", "text"], update_fields=["encoder", "vector", "updated_at"],
    )
    return len(missing)


def item_embeddings_write_through(*, shop: Shop, item_pks: list[int], device: str = "cpu") -> int:
    """Embed items just written whose text changed (an upsert's), in batches of `VITRINE_EMBED_BATCH`, each stored
    and announced as it is done, so a new item has similar items without waiting for a training run; returns how
    many were embedded. Items deleted since are skipped."""
    from recommender.ml.nets.text_encoder import item_text

    embedded = 0
    for start in range(0, len(item_pks), settings.VITRINE_EMBED_BATCH):
        rows = Item.objects.filter(shop=shop, pk__in=item_pks[start : start + settings.VITRINE_EMBED_BATCH]).order_by("pk")
        fields = rows.values_list("pk", "title", "brand", "category_path", "description")
        pks, texts = [], []
        for pk, title, brand, path, description in fields:
            pks.append(pk)
            texts.append(item_text(title, brand, path, description))
        embedded += _stale_embed(shop=shop, item_pks=pks, texts=texts, device=device, progress=None)
    return embedded
