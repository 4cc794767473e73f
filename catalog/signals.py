"""Key and shop writes from anywhere (the admin, the console, a script's save) reach every process's checked keys;
stored events reach the rollups of every app that keeps some, through `events_stored`."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from . import services
from .models import ApiKey, Shop
from .rollups import event_rollups_add

# Sent by catalog.services.event_batch_ingest inside the transaction that stored the events, with `shop` and
# `event_ids` (the pks of the rows this batch inserted; a resent event is in no batch twice). Receivers add
# them to their rollups in that transaction, so a rollup commits with its events or not at all. catalog
# imports none of its listeners beyond its own: merchandising connects its experiment rollups when ready.
events_stored = Signal()
# Sent by catalog.services.shopper_erase with `shop` and `shopper`, in its transaction, before the shopper's rows
# go: a rollup that counts them apart from their events takes them out.
shopper_erasing = Signal()


def _key_or_shop_changed(sender, **kwargs) -> None:
    services.api_keys_changed()


def _events_stored(sender, *, shop: Shop, event_ids: list[int], **kwargs) -> None:
    event_rollups_add(shop=shop, event_ids=event_ids)


def signals_connect() -> None:
    for model in (ApiKey, Shop):
        post_save.connect(_key_or_shop_changed, sender=model, dispatch_uid=f"catalog-keys-{model.__name__}")
        post_delete.connect(_key_or_shop_changed, sender=model, dispatch_uid=f"catalog-keys-{model.__name__}-delete")
    events_stored.connect(_events_stored, dispatch_uid="catalog-event-rollups")
