"""What a report reads from the experiment rollups: each variant's totals through each day and overall, the sums
behind revenue per visitor and CUPED, and each variant's totals per rail."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from catalog.models import ExperimentDay

from ..models import Experiment


@dataclass(frozen=True)
class VariantTotals:
    variant: str
    pages: int
    visitors: int
    clicks: int
    add_to_carts: int
    purchasers: int
    purchases: int
    revenue: Decimal


_DAY_SUMS = ("pages", "visitors", "clicks", "add_to_carts", "purchasers", "purchases", "revenue")


def _nothing_counted() -> dict:
    return {"pages": 0, "visitors": 0, "clicks": 0, "add_to_carts": 0, "purchasers": 0, "purchases": 0, "revenue": Decimal(0)}


def _experiment_days(experiment: Experiment):
    return ExperimentDay.objects.filter(shop_id=experiment.shop_id, experiment_id=experiment.pk)


def experiment_variant_days(*, experiment: Experiment) -> list[tuple[date, list[VariantTotals]]]:
    """Each variant's totals from the experiment's start through each day with counts, in the variants' order:
    what its report judges and charts. A shopper is a visitor (or purchaser) from the first day they were one."""
    keys = list(experiment.variants.order_by("pk").values_list("key", flat=True))
    added: dict[date, dict[str, dict]] = defaultdict(dict)
    for row in _experiment_days(experiment).values("day", "variant").annotate(
        pages=Sum("pages", filter=Q(rail="")), **{name: Sum(name) for name in _DAY_SUMS if name != "pages"},
    ):
        added[row["day"]][row["variant"]] = row
    running = {key: _nothing_counted() for key in keys}
    cumulative = []
    for day in sorted(added):
        for key in keys:
            for name in _DAY_SUMS:
                running[key][name] += added[day].get(key, {}).get(name) or 0
        cumulative.append((day, [VariantTotals(variant=key, **running[key]) for key in keys]))
    return cumulative


def totals_through_last_day(days: list[tuple[date, list[VariantTotals]]], keys: Sequence[str]) -> list[VariantTotals]:
    """The totals of experiment_variant_days' last day, or nothing counted for each of these variant keys."""
    return days[-1][1] if days else [VariantTotals(variant=key, **_nothing_counted()) for key in keys]


def experiment_variant_totals(*, experiment: Experiment) -> list[VariantTotals]:
    """Each variant's totals over the experiment's days, in the variants' order."""
    keys = list(experiment.variants.order_by("pk").values_list("key", flat=True))
    return totals_through_last_day(experiment_variant_days(experiment=experiment), keys)


def experiment_revenue_sums(*, experiment: Experiment) -> dict[str, tuple[Decimal, Decimal]]:
    """Per variant key, the sum of its purchasers' revenue over the experiment and the sum of each purchaser's
    revenue squared: with the visitors' count, the moments of revenue per visitor."""
    rows = _experiment_days(experiment).values("variant").annotate(total=Sum("revenue"), squares=Sum("revenue_squares"))
    return {row["variant"]: (row["total"], row["squares"]) for row in rows if row["total"] or row["squares"]}


def experiment_pre_sums(*, experiment: Experiment) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Per variant key, CUPED's sums over its visitors: of the covariate x, of x squared and of x times the metric."""
    rows = _experiment_days(experiment).values("variant").annotate(
        total=Sum("pre_sum"), squares=Sum("pre_squares"), cross=Sum("pre_cross"),
    )
    return {row["variant"]: (row["total"], row["squares"], row["cross"]) for row in rows}


@dataclass(frozen=True)
class RailTotals:
    """One variant's outcomes on one rail: the pages that showed it, and the clicks and add-to-carts it got."""

    variant: str
    pages: int
    clicks: int
    add_to_carts: int

    @property
    def click_through(self) -> float | None:
        return self.clicks / self.pages if self.pages else None


def experiment_rail_totals(*, experiment: Experiment) -> dict[str, list[RailTotals]]:
    """Per rail key, each variant's totals on it over the experiment, in the variants' order."""
    keys = list(experiment.variants.order_by("pk").values_list("key", flat=True))
    rows = (
        _experiment_days(experiment).exclude(rail="")
        .values("rail", "variant").annotate(pages=Sum("pages"), clicks=Sum("clicks"), add_to_carts=Sum("add_to_carts"))
    )
    found: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        found[row["rail"]][row["variant"]] = row
    return {
        rail: [
            RailTotals(variant=key, **{name: by_variant.get(key, {}).get(name) or 0 for name in ("pages", "clicks", "add_to_carts")})
            for key in keys
        ]
        for rail, by_variant in sorted(found.items())
    }
