from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog and events"

    def ready(self):
        from .signals import signals_connect

        signals_connect()
