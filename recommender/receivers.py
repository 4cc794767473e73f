"""What the recommender does when a version begins to serve (a new encoder changes the vectors that the text
families read, so they are retrained on them), when items are written or searched for (their new texts and the
search words are embedded), and when a shopper's history is dropped (their candidates go)."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from catalog.models import Item, Shopper
from catalog.signals import items_changed, shopper_history_dropped, shoppers_searched

from .dispatch import item_embeddings_queue, query_embeddings_queue
from .models import Family, ModelVersion
from .services.candidates import candidates_cache_key
from .services.training import encoder_dependents_dispatch
from .signals import version_serving


def _version_serving(sender, *, version: ModelVersion, **kwargs) -> None:
    if version.family == Family.FINETUNED_TEXT:
        encoder_dependents_dispatch(shop=version.shop)


def _shopper_history_dropped(sender, *, shopper: Shopper, **kwargs) -> None:
    cache.delete(candidates_cache_key(shopper))


def _items_written(sender, *, shop, item_pks=(), **kwargs) -> None:
    # Once committed, so the worker reads the rows; vectors written by the recommender send no pks.
    if sender is Item and item_pks and settings.VITRINE_EMBED_ON_WRITE:
        transaction.on_commit(lambda: item_embeddings_queue(shop=shop, item_pks=item_pks))


def _shoppers_searched(sender, *, shop, queries, **kwargs) -> None:
    transaction.on_commit(lambda: query_embeddings_queue(shop=shop, queries=queries))


def signals_connect() -> None:
    shoppers_searched.connect(_shoppers_searched, dispatch_uid="recommender-embed-queries")
    items_changed.connect(_items_written, dispatch_uid="recommender-embed-on-write")
    version_serving.connect(_version_serving, dispatch_uid="recommender-encoder-dependents")
    shopper_history_dropped.connect(_shopper_history_dropped, dispatch_uid="recommender-candidates-dropped")
