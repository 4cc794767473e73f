"""Writes that bypass the services still reach the page cache: model signals replace the tokens they touch."""

from django.db.models.signals import post_delete, post_save

from catalog.models import Shopper
from recommender.models import ModelVersion

from .cache import homepage_models_changed, homepage_shoppers_changed
from .rulebook import rule_signals_connect


def _shopper_saved_or_deleted(sender, instance: Shopper, **kwargs) -> None:
    # An opt-out set in the admin, a shopper created by a fixture or erased: their next page is read anew.
    homepage_shoppers_changed(shop=instance.shop, external_ids=[instance.external_id])


def _version_saved_or_deleted(sender, instance: ModelVersion, **kwargs) -> None:
    # Training saves its progress many times on versions that do not serve yet: those change no page.
    if instance.is_active:
        homepage_models_changed(shop=instance.shop)


def signals_connect() -> None:
    rule_signals_connect()
    post_save.connect(_shopper_saved_or_deleted, sender=Shopper, dispatch_uid="homepage-shopper")
    post_delete.connect(_shopper_saved_or_deleted, sender=Shopper, dispatch_uid="homepage-shopper-delete")
    post_save.connect(_version_saved_or_deleted, sender=ModelVersion, dispatch_uid="homepage-model-version")
    post_delete.connect(_version_saved_or_deleted, sender=ModelVersion, dispatch_uid="homepage-model-version-delete")
