"""What merchandising hears from the apps it follows: promotions made in the recommender's admin go in the
shop's audit log, revertable as the console's are."""

from recommender.models import ModelVersion
from recommender.signals import version_promoted

from .services.serving import serving_change_record


def _version_promoted(sender, *, version: ModelVersion, serving_before: ModelVersion | None, actor, **kwargs) -> None:
    serving_change_record(version=version, serving_before=serving_before, actor=actor)


def signals_connect() -> None:
    version_promoted.connect(_version_promoted, dispatch_uid="merchandising-audit-version-promoted")
