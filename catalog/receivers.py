"""Key and shop writes from anywhere (the admin, the console, a script's save) reach every process's checked keys;
stored events reach the event rollups, through `events_stored`."""

from django.db.models.signals import post_delete, post_save

from . import services
from .models import ApiKey, Shop
from .rollups import event_rollups_add
from .signals import events_stored


def _key_or_shop_changed(sender, **kwargs) -> None:
    services.api_keys_changed()


def _events_stored(sender, *, shop: Shop, event_ids: list[int], **kwargs) -> None:
    event_rollups_add(shop=shop, event_ids=event_ids)


def signals_connect() -> None:
    for model in (ApiKey, Shop):
        post_save.connect(_key_or_shop_changed, sender=model, dispatch_uid=f"catalog-keys-{model.__name__}")
        post_delete.connect(_key_or_shop_changed, sender=model, dispatch_uid=f"catalog-keys-{model.__name__}-delete")
    events_stored.connect(_events_stored, dispatch_uid="catalog-event-rollups")
