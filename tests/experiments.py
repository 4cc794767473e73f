"""Experiment outcomes written straight into the rollups, for the tests of what reads them (the rollups'
own tests count them from events)."""

from datetime import date
from decimal import Decimal

from catalog.models import ExperimentDay, ExperimentShopper, Shopper
from merchandising.experiments.models import Experiment

OUTCOME = ExperimentShopper.Outcome


def experiment_outcomes(
    experiment: Experiment, variant: str, *, visitors: int, purchasers: int, pages: int, clicks: int,
    day: date | None = None, rails: dict[str, tuple[int, int]] | None = None, revenues: list[Decimal] = (),
    bought_before: int = 0,
) -> None:
    """The rollups of `visitors` new shoppers of one variant on `day` (today by default), `purchasers` of them
    buying, the first of them for `revenues`; `rails` maps a rail key to the pages that showed it and its clicks.
    The first `bought_before` of them bought before the experiment too (CUPED's covariate of conversion)."""
    today = day or date.today()
    shoppers = Shopper.objects.bulk_create(
        Shopper(shop=experiment.shop, external_id=f"{experiment.pk}-{variant}-{today}-{number}") for number in range(visitors)
    )
    spent = [*revenues, *[Decimal(0)] * (purchasers - len(revenues))]
    ExperimentDay.objects.bulk_create([
        ExperimentDay(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today, pages=pages,
                      clicks=clicks, purchases=purchasers, revenue=sum(spent, Decimal(0)), visitors=visitors,
                      purchasers=purchasers, revenue_squares=sum((value * value for value in spent), Decimal(0)),
                      pre_sum=bought_before, pre_squares=bought_before, pre_cross=min(bought_before, purchasers)),
        *(ExperimentDay(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today, rail=rail,
                        pages=rail_pages, clicks=rail_clicks) for rail, (rail_pages, rail_clicks) in (rails or {}).items()),
    ])
    ExperimentShopper.objects.bulk_create([
        *(ExperimentShopper(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, first_day=today,
                            outcome=OUTCOME.VISIT, shopper=shopper) for shopper in shoppers),
        *(ExperimentShopper(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, first_day=today,
                            outcome=OUTCOME.PURCHASE, shopper=shopper, revenue=revenue)
          for shopper, revenue in zip(shoppers[:purchasers], spent)),
    ])
