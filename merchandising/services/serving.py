"""Which model version serves a family, changed from the console: the recommender's promotion and rollback,
each audit-logged with the version that served before, so that it can be reverted."""

from django.db import transaction

from catalog.models import Shop
from recommender.models import ModelVersion
from recommender.selectors import active_version
from recommender.services import version_promote, version_rollback

from .audit import audit_record


def serving_change_record(
    *, version: ModelVersion, serving_before: ModelVersion | None, actor, action: str = "model_promote"
) -> None:
    """Log that `version` serves its family now, in place of `serving_before`."""
    audit_record(
        shop=version.shop, actor=actor, action=action, rule=version,
        before={"serving": serving_before.pk if serving_before else None}, after={"serving": version.pk},
    )


@transaction.atomic
def model_version_serve(*, version: ModelVersion, actor) -> ModelVersion:
    """Promote `version`; raises the recommender's VersionNotServable when it cannot serve."""
    serving = active_version(shop=version.shop, family=version.family)
    version_promote(version=version)
    serving_change_record(version=version, serving_before=serving, actor=actor)
    return version


@transaction.atomic
def model_family_rollback(*, shop: Shop, family: str, actor) -> ModelVersion:
    """Serve the family's previous version again; raises VersionNotServable when there is none."""
    serving = active_version(shop=shop, family=family)
    previous = version_rollback(shop=shop, family=family)
    serving_change_record(version=previous, serving_before=serving, actor=actor, action="model_rollback")
    return previous
