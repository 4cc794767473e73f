"""Creating the queued versions of a training request, one per family, numbered in turn."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Max

from catalog.models import Shop

from ...models import Family, ModelVersion
from ...selectors import FAMILY_ORDER
from .errors import TrainingError

logger = logging.getLogger(__name__)
IN_FLIGHT_CONSTRAINT = "one_run_in_flight_per_family"
NUMBER_CONSTRAINT = "one_number_per_version_of_a_family"
NUMBERING_ATTEMPTS = 5


def training_versions_create(
    *, shop: Shop, families: list[str], time_limit_s: float | None = None, skip_in_flight: bool = False
) -> list[ModelVersion]:
    """A queued version per family, in training order.

    A family with a run already queued or running gets no second one: TrainingError says so, or, with
    `skip_in_flight`, the family is left out.
    """
    unknown = set(families) - set(Family.values)
    if unknown:
        raise TrainingError(f"Unknown model family {', '.join(sorted(unknown))}; expected {', '.join(Family.values)}.")
    ordered = [family for family in FAMILY_ORDER if family in families]
    in_flight = _runs_in_flight(shop=shop, families=ordered)
    if in_flight and not skip_in_flight:
        raise TrainingError(_in_flight_message(in_flight))
    if in_flight:
        logger.info("Shop %s: %s", shop.slug, _in_flight_message(in_flight))
    busy = {version.family for version in in_flight}
    attempts_left = NUMBERING_ATTEMPTS
    while True:
        try:
            with transaction.atomic():
                return [
                    ModelVersion.objects.create(
                        shop=shop, family=family, number=_next_number(shop=shop, family=family), time_limit_s=time_limit_s
                    )
                    for family in ordered if family not in busy
                ]
        except IntegrityError as error:
            # Another process queued one of these families between the check above and this insert.
            if IN_FLIGHT_CONSTRAINT in str(error):
                raise TrainingError(_in_flight_message(_runs_in_flight(shop=shop, families=ordered))) from error
            # Or it took the next number of a family as its run ended: the next attempt reads the number after it.
            attempts_left -= 1
            if NUMBER_CONSTRAINT not in str(error) or not attempts_left:
                raise


def _next_number(*, shop: Shop, family: str) -> int:
    latest = ModelVersion.objects.filter(shop=shop, family=family).aggregate(latest=Max("number"))["latest"]
    return (latest or 0) + 1


def _runs_in_flight(*, shop: Shop, families: list[str]) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(shop=shop, family__in=families, status__in=ModelVersion.IN_FLIGHT).order_by("pk"))


def _in_flight_message(versions: list[ModelVersion]) -> str:
    return " ".join(
        f"{version.get_family_display()} is already {version.status} (v{version.number}); train it again once that run ends."
        for version in versions
    )
