from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog and events"

    def ready(self):
        import config.openapi  # noqa: F401  (registers the API key's scheme with the schema generator)

        from .receivers import signals_connect

        signals_connect()
