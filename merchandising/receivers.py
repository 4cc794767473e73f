"""What merchandising hears: rule rows saved or deleted outside its services (a script, a fixture) change the
shop's pages too; promotions made in the recommender's admin go in the shop's audit log, revertable as the
console's are."""

from django.db.models.signals import post_delete, post_save

from homepage.cache import homepage_rules_changed
from recommender.models import ModelVersion
from recommender.signals import version_promoted

from .models import Adjustment, Block, Campaign, Pin, Rail
from .services.serving import serving_change_record


def _rule_saved_or_deleted(sender, instance, **kwargs) -> None:
    homepage_rules_changed(shop=instance.rail.shop if isinstance(instance, Pin) else instance.shop)


def _version_promoted(sender, *, version: ModelVersion, serving_before: ModelVersion | None, actor, **kwargs) -> None:
    serving_change_record(version=version, serving_before=serving_before, actor=actor)


def signals_connect() -> None:
    for model in (Rail, Pin, Adjustment, Block, Campaign):
        post_save.connect(_rule_saved_or_deleted, sender=model, dispatch_uid=f"merchandising-rules-{model.__name__}")
        post_delete.connect(_rule_saved_or_deleted, sender=model, dispatch_uid=f"merchandising-rules-{model.__name__}-delete")
    version_promoted.connect(_version_promoted, dispatch_uid="merchandising-audit-version-promoted")
