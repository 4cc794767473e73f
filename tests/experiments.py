"""Experiment outcomes written straight into the rollups, for the tests of what reads them (the rollups'
own tests count them from events)."""

from datetime import date

from catalog.models import ExperimentDay, ExperimentShopperDay, Shopper
from merchandising.experiments.models import Experiment

OUTCOME = ExperimentShopperDay.Outcome


def experiment_outcomes(experiment: Experiment, variant: str, *, visitors: int, purchasers: int, pages: int, clicks: int) -> None:
    """The rollups of `visitors` shoppers of one variant today, `purchasers` of them buying."""
    shoppers = Shopper.objects.bulk_create(
        Shopper(shop=experiment.shop, external_id=f"{variant}-{number}") for number in range(visitors)
    )
    today = date.today()
    ExperimentDay.objects.create(
        shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today, pages=pages, clicks=clicks,
        purchases=purchasers,
    )
    ExperimentShopperDay.objects.bulk_create([
        *(ExperimentShopperDay(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today,
                               outcome=OUTCOME.VISIT, shopper=shopper) for shopper in shoppers),
        *(ExperimentShopperDay(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today,
                               outcome=OUTCOME.PURCHASE, shopper=shopper) for shopper in shoppers[:purchasers]),
    ])
