"""What the recommender does when a version begins to serve (a new encoder changes the vectors that the text
families read, so they are retrained on them), and when a shopper's history is dropped (their candidates go)."""

from django.core.cache import cache

from catalog.models import Shopper
from catalog.signals import shopper_history_dropped

from .models import Family, ModelVersion
from .services.candidates import candidates_cache_key
from .services.training import encoder_dependents_dispatch
from .signals import version_serving


def _version_serving(sender, *, version: ModelVersion, **kwargs) -> None:
    if version.family == Family.FINETUNED_TEXT:
        encoder_dependents_dispatch(shop=version.shop)


def _shopper_history_dropped(sender, *, shopper: Shopper, **kwargs) -> None:
    cache.delete(candidates_cache_key(shopper))


def signals_connect() -> None:
    version_serving.connect(_version_serving, dispatch_uid="recommender-encoder-dependents")
    shopper_history_dropped.connect(_shopper_history_dropped, dispatch_uid="recommender-candidates-dropped")
