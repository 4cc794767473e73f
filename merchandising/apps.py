from django.apps import AppConfig


class MerchandisingConfig(AppConfig):
    name = "merchandising"

    def ready(self):
        from .experiments.signals import signals_connect
        from .signals import signals_connect as audit_signals_connect

        signals_connect()
        audit_signals_connect()
