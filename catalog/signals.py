"""Key and shop writes from anywhere (the admin, the console, a script's save) reach every process's checked keys."""

from django.db.models.signals import post_delete, post_save

from .models import ApiKey, Shop
from .services import api_keys_changed


def _key_or_shop_changed(sender, **kwargs) -> None:
    api_keys_changed()


def signals_connect() -> None:
    for model in (ApiKey, Shop):
        post_save.connect(_key_or_shop_changed, sender=model, dispatch_uid=f"catalog-keys-{model.__name__}")
        post_delete.connect(_key_or_shop_changed, sender=model, dispatch_uid=f"catalog-keys-{model.__name__}-delete")
