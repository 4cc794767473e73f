from types import SimpleNamespace

from django.apps import AppConfig


class MerchandisingConfig(AppConfig):
    name = "merchandising"

    def ready(self):
        from homepage.arms import arm_resolver_set
        from homepage.rules import rule_store_set

        from .experiments.assignment import shopper_arm
        from .experiments.receivers import signals_connect
        from .receivers import signals_connect as audit_signals_connect
        from .selectors.rails import page_rules_read
        from .services.rules import default_rails_ensure

        signals_connect()
        audit_signals_connect()
        arm_resolver_set(shopper_arm)
        rule_store_set(SimpleNamespace(rules_read=page_rules_read, default_rails_ensure=default_rails_ensure))
