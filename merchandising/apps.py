from django.apps import AppConfig


class MerchandisingConfig(AppConfig):
    name = "merchandising"

    def ready(self):
        from homepage.arms import arm_resolver_set

        from .experiments.assignment import shopper_arm
        from .experiments.receivers import signals_connect
        from .receivers import signals_connect as audit_signals_connect

        signals_connect()
        audit_signals_connect()
        arm_resolver_set(shopper_arm)
