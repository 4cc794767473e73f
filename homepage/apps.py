from django.apps import AppConfig


class HomepageConfig(AppConfig):
    name = "homepage"

    def ready(self):
        from .rulebook import rule_signals_connect

        rule_signals_connect()
