"""Experiment outcomes written straight into the rollups, for the tests of what reads them (the rollups'
own tests count them from events)."""

from datetime import date
from decimal import Decimal

from catalog.models import ExperimentDay, ExperimentShopperDay, Shopper
from merchandising.experiments.models import Experiment

OUTCOME = ExperimentShopperDay.Outcome


def experiment_outcomes(
    experiment: Experiment, variant: str, *, visitors: int, purchasers: int, pages: int, clicks: int,
    day: date | None = None, rails: dict[str, tuple[int, int]] | None = None, revenues: list[Decimal] = (),
) -> None:
    """The rollups of `visitors` new shoppers of one variant on `day` (today by default), `purchasers` of them
    buying, the first of them for `revenues`; `rails` maps a rail key to the pages that showed it and its clicks."""
    today = day or date.today()
    shoppers = Shopper.objects.bulk_create(
        Shopper(shop=experiment.shop, external_id=f"{variant}-{today}-{number}") for number in range(visitors)
    )
    ExperimentDay.objects.bulk_create([
        ExperimentDay(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today, pages=pages,
                      clicks=clicks, purchases=purchasers),
        *(ExperimentDay(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today, rail=rail,
                        pages=rail_pages, clicks=rail_clicks) for rail, (rail_pages, rail_clicks) in (rails or {}).items()),
    ])
    ExperimentShopperDay.objects.bulk_create([
        *(ExperimentShopperDay(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today,
                               outcome=OUTCOME.VISIT, shopper=shopper) for shopper in shoppers),
        *(ExperimentShopperDay(shop=experiment.shop, experiment_id=experiment.pk, variant=variant, day=today,
                               outcome=OUTCOME.PURCHASE, shopper=shopper, revenue=revenue)
          for shopper, revenue in zip(shoppers[:purchasers], [*revenues, *[Decimal(0)] * purchasers])),
    ])
