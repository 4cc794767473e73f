"""What makes cached pages stale reaches the page cache: catalog's signals (items written, events stored, a
shopper's history dropped), and model signals for writes that bypass the services."""

from django.db.models.signals import post_delete, post_save

from catalog.models import Item, Shopper
from catalog.signals import items_changed, shopper_history_dropped, shoppers_acted
from recommender.models import ModelVersion

from .cache import (
    homepage_catalog_changed,
    homepage_models_changed,
    homepage_shoppers_acted,
    homepage_shoppers_changed,
    homepage_shoppers_forget,
)


def _shopper_saved_or_deleted(sender, instance: Shopper, **kwargs) -> None:
    # An opt-out set in the admin, a shopper created by a fixture or erased: their next page is read anew.
    homepage_shoppers_changed(shop=instance.shop, external_ids=[instance.external_id])


def _version_saved_or_deleted(sender, instance: ModelVersion, **kwargs) -> None:
    # Training saves its progress many times on versions that do not serve yet: those change no page.
    if instance.is_active:
        homepage_models_changed(shop=instance.shop)


def _items_changed(sender, *, shop, **kwargs) -> None:
    homepage_catalog_changed(shop=shop)


def _item_saved_or_deleted(sender, instance: Item, **kwargs) -> None:
    # An item edited or deleted in the admin: every process reads the change on its next page.
    homepage_catalog_changed(shop=instance.shop)


def _shoppers_acted(sender, *, shop, opt_outs: dict[str, bool], **kwargs) -> None:
    homepage_shoppers_acted(shop=shop, opt_outs=opt_outs)


def _shopper_history_dropped(sender, *, shop, shopper: Shopper, **kwargs) -> None:
    homepage_shoppers_forget(shop=shop, external_ids=[shopper.external_id])


def signals_connect() -> None:
    items_changed.connect(_items_changed, dispatch_uid="homepage-items-changed")
    shoppers_acted.connect(_shoppers_acted, dispatch_uid="homepage-shoppers-acted")
    shopper_history_dropped.connect(_shopper_history_dropped, dispatch_uid="homepage-shopper-history-dropped")
    post_save.connect(_shopper_saved_or_deleted, sender=Shopper, dispatch_uid="homepage-shopper")
    post_delete.connect(_shopper_saved_or_deleted, sender=Shopper, dispatch_uid="homepage-shopper-delete")
    post_save.connect(_item_saved_or_deleted, sender=Item, dispatch_uid="homepage-item")
    post_delete.connect(_item_saved_or_deleted, sender=Item, dispatch_uid="homepage-item-delete")
    post_save.connect(_version_saved_or_deleted, sender=ModelVersion, dispatch_uid="homepage-model-version")
    post_delete.connect(_version_saved_or_deleted, sender=ModelVersion, dispatch_uid="homepage-model-version-delete")
