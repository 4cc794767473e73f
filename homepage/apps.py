from django.apps import AppConfig


class HomepageConfig(AppConfig):
    name = "homepage"

    def ready(self):
        from .receivers import signals_connect

        signals_connect()
