"""An experiment's results page, read from its rollups: each variant's figures, and against control the lift,
the probability to beat it and the expected loss of shipping, with the sample ratio check and a plain sentence.

Rates are judged per trial: conversion per visitor, clicks and add-to-carts per page served (a page counts
as one trial, so a rate over one page is held at one). Revenue per visitor is judged with Welch's normal
approximation, from each variant's visitors and the sum and sum of squares of its purchasers' revenue."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from catalog.models import Event, EventType

from .assignment import allocations_latest, variant_shares
from .models import Experiment, Variant
from ..selectors import rail_titles
from .rollups import (
    CUPED_METRICS, PRE_DAYS, RailTotals, VariantTotals, experiment_pre_sums, experiment_rail_totals, experiment_revenue_sums,
    experiment_variant_days, totals_through_last_day,
)
from .stats import (
    CupedSums,
    ExpectedLoss,
    Interval,
    Moments,
    RateCounts,
    SampleRatioCheck,
    cuped_sums_adjust,
    decision_text,
    expected_loss,
    means_expected_loss,
    probability_to_beat,
    days_needed,
    relative_lift,
    sample_ratio_mismatch,
    sample_size_per_variant,
    welch_moments_comparison,
)

Metric = Experiment.Metric
RECENT_DAYS = 14
# Posterior draws per point of the lift chart: its band, not its last decimal, is what is read off it.
LIFT_CHART_DRAWS = 20_000
# What each judged metric counts: its successes and its trials, from a variant's totals.
RATES = {
    Metric.CONVERSION: lambda totals: (totals.purchasers, totals.visitors),
    Metric.CLICK_THROUGH: lambda totals: (totals.clicks, totals.pages),
    Metric.ADD_TO_CART_RATE: lambda totals: (totals.add_to_carts, totals.pages),
}


@dataclass(frozen=True)
class CupedJudgement:
    """The same comparison on the metric adjusted by each visitor's value of it before the experiment (CUPED)."""

    variance_reduction: float
    probability: float
    lift: Interval


@dataclass(frozen=True)
class Judgement:
    """A variant against control on the experiment's primary metric."""

    probability: float
    lift: Interval
    loss: ExpectedLoss
    sentence: str
    cuped: CupedJudgement | None = None


@dataclass(frozen=True)
class VariantRow:
    variant: Variant
    share_now: float  # of the experiment's shoppers, as served now: the set share, or the bandit's latest
    totals: VariantTotals
    rates: dict[str, float | None]
    revenue_per_visitor: Decimal | None
    average_order_value: Decimal | None  # revenue per attributed purchase
    judgement: Judgement | None


@dataclass(frozen=True)
class LiftDay:
    """Each challenger's lift over control on the primary metric, counting every day up to `day`."""

    day: date
    lifts: list[Interval | None]  # in the challengers' order; None while either arm has no trial


@dataclass(frozen=True)
class RailCell:
    totals: RailTotals
    change: float | None  # of click-through against control's; None for control itself, or with nothing to compare


@dataclass(frozen=True)
class RailRow:
    """One rail's click-through per variant over the experiment, in the variants' order."""

    rail: str
    title: str
    cells: list[RailCell]


@dataclass(frozen=True)
class ExperimentReport:
    experiment: Experiment
    rows: list[VariantRow]
    ratio: SampleRatioCheck | None
    days_running: float
    challengers: list[Variant]
    lift_days: list[LiftDay]
    rails: list[RailRow]
    pre_days: int = PRE_DAYS  # CUPED's covariate: each visitor's metric over these days before the start

    @property
    def judged(self) -> bool:
        """Whether any challenger could be compared with control yet."""
        return any(row.judgement is not None for row in self.rows)


def rate_counts(metric: str, totals: VariantTotals) -> RateCounts:
    """A variant's successes and trials on a judged (rate) metric."""
    successes, trials = RATES[metric](totals)
    return RateCounts(successes=min(successes, trials), trials=trials)


def _rates(totals: VariantTotals) -> dict[str, float | None]:
    rates = {}
    for metric, counts in RATES.items():
        successes, trials = counts(totals)
        rates[metric] = successes / trials if trials else None
    return rates


def _revenue_moments(totals: VariantTotals, sums: tuple[Decimal, Decimal] | None) -> Moments:
    total, squares = sums or (Decimal(0), Decimal(0))
    return Moments.from_sums(count=totals.visitors, total=float(total), squares=float(squares))


def _cuped_sums(metric: str, totals: VariantTotals, revenue: dict, pre: dict) -> CupedSums:
    total, squares = revenue.get(totals.variant, (0, 0)) if metric == Metric.REVENUE_PER_VISITOR else (totals.purchasers,) * 2
    pre_total, pre_squares, cross = pre.get(totals.variant, (0, 0, 0))
    return CupedSums(count=totals.visitors, total=float(total), squares=float(squares), pre_total=float(pre_total),
                     pre_squares=float(pre_squares), cross=float(cross))


def _cuped(metric: str, control: VariantTotals, totals: VariantTotals, revenue: dict, pre: dict) -> CupedJudgement | None:
    """CUPED's comparison of the variant with control; None for a per-page metric, or with too little to compare."""
    if metric not in CUPED_METRICS:
        return None
    if not any(pre.get(one.variant, (0, 0, 0))[0] for one in (control, totals)):
        return None  # no visitor had any of it before the start: nothing to adjust by
    try:
        _, reduction, adjusted = cuped_sums_adjust({
            "control": _cuped_sums(metric, control, revenue, pre), "variant": _cuped_sums(metric, totals, revenue, pre),
        })
        comparison = welch_moments_comparison(adjusted["control"], adjusted["variant"])
    except ValueError:
        return None
    return CupedJudgement(variance_reduction=reduction, probability=comparison.probability_to_beat, lift=comparison.lift)


def _judgement(
    experiment: Experiment, variant: Variant, control: VariantTotals, totals: VariantTotals,
    revenue: dict[str, tuple[Decimal, Decimal]], pre: dict[str, tuple[Decimal, Decimal, Decimal]],
) -> Judgement | None:
    """The variant against control on the primary metric; None while revenue per visitor has too little to compare
    (fewer than two visitors, or no revenue yet, in an arm)."""
    metric = experiment.primary_metric
    if metric == Metric.REVENUE_PER_VISITOR:
        try:
            base, moments = _revenue_moments(control, revenue.get(control.variant)), _revenue_moments(totals, revenue.get(totals.variant))
            comparison = welch_moments_comparison(base, moments)
        except ValueError:
            return None
        probability, lift, loss = comparison.probability_to_beat, comparison.lift, means_expected_loss(base, moments)
    else:
        control_counts, variant_counts = rate_counts(metric, control), rate_counts(metric, totals)
        probability = probability_to_beat(control_counts, variant_counts)
        lift = relative_lift(control_counts, variant_counts)
        loss = expected_loss(control_counts, variant_counts)
    sentence = decision_text(
        variant=variant.name, metric=Metric(metric).label.lower(), probability=probability, lift=lift,
        expected_loss=loss.relative,
    )
    return Judgement(probability=probability, lift=lift, loss=loss, sentence=sentence,
                     cuped=_cuped(metric, control, totals, revenue, pre))


def _ratio_check(experiment: Experiment, variants: list[Variant], totals: list[VariantTotals]) -> SampleRatioCheck | None:
    # A bandit's shares move every hour: no one planned split for the counts to match.
    if experiment.bandit or len(variants) < 2 or any(variant.share <= 0 for variant in variants):
        return None
    return sample_ratio_mismatch(observed=[row.visitors for row in totals], expected_shares=[v.share for v in variants])


def _per(revenue: Decimal, count: int) -> Decimal | None:
    return (revenue / count).quantize(Decimal("0.01")) if count else None


def _control_index(variants: list[Variant]) -> int | None:
    return next((index for index, variant in enumerate(variants) if variant.kind == Variant.Kind.CONTROL), None)


def _lift_days(experiment: Experiment, variants: list[Variant], days: list[tuple[date, list[VariantTotals]]]) -> list[LiftDay]:
    control = _control_index(variants)
    if control is None or experiment.primary_metric not in RATES:
        return []
    lifted = []
    for day, totals in days:
        base = rate_counts(experiment.primary_metric, totals[control])
        lifts = []
        for index, variant in enumerate(variants):
            if index == control:
                continue
            counts = rate_counts(experiment.primary_metric, totals[index])
            lifts.append(relative_lift(base, counts, draws=LIFT_CHART_DRAWS) if base.trials and counts.trials else None)
        lifted.append(LiftDay(day=day, lifts=lifts))
    return lifted


def _rail_rows(experiment: Experiment, variants: list[Variant]) -> list[RailRow]:
    control = _control_index(variants)
    titles = rail_titles(shop=experiment.shop)
    rows = []
    for rail, totals in experiment_rail_totals(experiment=experiment).items():
        base = totals[control].click_through if control is not None else None
        cells = [
            RailCell(totals=one, change=(
                None if index == control or not base or one.click_through is None else one.click_through / base - 1
            ))
            for index, one in enumerate(totals)
        ]
        rows.append(RailRow(rail=rail, title=titles.get(rail, ""), cells=cells))
    return rows


def experiment_report(*, experiment: Experiment) -> ExperimentReport:
    variants = list(experiment.variants.select_related("draft", "model_version").order_by("pk"))
    days = experiment_variant_days(experiment=experiment)
    totals = totals_through_last_day(days, [variant.key for variant in variants])
    control = next((row for variant, row in zip(variants, totals) if variant.kind == Variant.Kind.CONTROL), None)
    revenue = experiment_revenue_sums(experiment=experiment) if experiment.primary_metric == Metric.REVENUE_PER_VISITOR else {}
    pre = experiment_pre_sums(experiment=experiment) if experiment.primary_metric in CUPED_METRICS else {}
    shares = variant_shares(variants, allocations_latest([experiment]).get(experiment.pk))
    rows = [
        VariantRow(
            variant=variant, share_now=share, totals=row, rates=_rates(row),
            revenue_per_visitor=_per(row.revenue, row.visitors), average_order_value=_per(row.revenue, row.purchases),
            judgement=(
                _judgement(experiment, variant, control, row, revenue, pre)
                if control is not None and variant.kind != Variant.Kind.CONTROL else None
            ),
        )
        for variant, share, row in zip(variants, shares, totals, strict=True)
    ]
    started = experiment.started_at
    days_running = ((experiment.ended_at or timezone.now()) - started).total_seconds() / 86400 if started else 0.0
    return ExperimentReport(
        experiment=experiment, rows=rows, ratio=_ratio_check(experiment, variants, totals),
        days_running=days_running, challengers=[variant for variant in variants if variant.kind != Variant.Kind.CONTROL],
        lift_days=_lift_days(experiment, variants, days), rails=_rail_rows(experiment, variants),
    )


@dataclass(frozen=True)
class LengthEstimate:
    """How long the experiment must run to detect `effect` on conversion, from the shop's recent traffic."""

    effect: float
    daily_visitors: float
    baseline: float
    visitors_per_variant: int | None
    days: int | None


def experiment_length_estimate(*, experiment: Experiment, effect: float = 0.1) -> LengthEstimate:
    """Visitors and days needed for a relative change `effect` of conversion (shoppers who purchase among those
    seen), at 5 % significance and 80 % power, from the shop's last RECENT_DAYS days of events. Read once,
    before the start: the results themselves come from rollups."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    recent = Event.objects.filter(shop_id=experiment.shop_id, occurred_at__gte=since).aggregate(
        shoppers=Count("shopper", distinct=True),
        purchasers=Count("shopper", distinct=True, filter=Q(type=EventType.PURCHASE)),
    )
    daily, baseline = recent["shoppers"] / RECENT_DAYS, (recent["purchasers"] / recent["shoppers"] if recent["shoppers"] else 0.0)
    shares = [experiment.traffic_share * variant.share for variant in experiment.variants.all() if variant.share > 0]
    try:
        visitors = sample_size_per_variant(baseline_rate=baseline, relative_mde=effect)
        days = days_needed(visitors_per_variant=visitors, daily_visitors=daily, traffic_shares=shares)
    except ValueError:  # no traffic, no purchase yet, or no variants: nothing to estimate from
        visitors, days = None, None
    return LengthEstimate(effect=effect, daily_visitors=daily, baseline=baseline, visitors_per_variant=visitors, days=days)
