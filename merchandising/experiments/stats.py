"""Statistics for A/B experiments: pure functions over counts and arrays, no Django.

Rates (clicks per impression, conversions per visitor) are judged the Bayesian
way: each arm's rate gets a Beta posterior from a uniform Beta(1, 1) prior, and
the report says how likely the variant beats control and what shipping it would
cost if it does not. Continuous, heavy-tailed metrics such as revenue per
visitor are compared with Welch's normal approximation or a bootstrap.

Everything that samples takes a numpy Generator or an int seed and defaults to a
fixed seed, so the same data always yields the same report.
"""

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

PRIOR_ALPHA = 1
PRIOR_BETA = 1
DEFAULT_DRAWS = 100_000
DEFAULT_RESAMPLES = 2_000
# The exact sum has one term per success of the arm with fewer successes; past
# this many, Monte Carlo is faster and its error (under 0.002 at DEFAULT_DRAWS)
# is far below anything a decision turns on.
EXACT_MAX_TERMS = 1_000_000
SRM_THRESHOLD = 0.001
THOMPSON_FLOOR = 0.05
THOMPSON_DRAWS = 10_000
# Bootstrap indices are drawn in blocks of at most this many, bounding memory
# to a few tens of MB whatever the number of visitors.
BOOTSTRAP_BLOCK = 4_000_000

Seed = np.random.Generator | int
Method = Literal["auto", "exact", "monte_carlo"]
MINUS = "\u2212"


@dataclass(frozen=True)
class RateCounts:
    """Successes out of trials for one arm: conversions of visitors, clicks of impressions."""

    successes: int
    trials: int

    def __post_init__(self) -> None:
        successes, trials = operator.index(self.successes), operator.index(self.trials)
        if not 0 <= successes <= trials:
            raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")

    @property
    def posterior(self) -> tuple[int, int]:
        """Parameters (alpha, beta) of the Beta posterior of the rate."""
        return PRIOR_ALPHA + self.successes, PRIOR_BETA + self.trials - self.successes

    @property
    def posterior_mean(self) -> float:
        alpha, beta = self.posterior
        return alpha / (alpha + beta)


@dataclass(frozen=True)
class Interval:
    """A point estimate with the bounds of its interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class ExpectedLoss:
    """What shipping the variant is expected to cost, counting only the cases where it is worse.

    Attributes:
        absolute: E[max(p_control - p_variant, 0)], in units of the rate.
        relative: absolute divided by control's posterior mean rate.
    """

    absolute: float
    relative: float


@dataclass(frozen=True)
class MeanComparison:
    """Variant against control on a continuous metric such as revenue per visitor.

    Attributes:
        control_mean: observed mean of control.
        variant_mean: observed mean of the variant.
        difference: variant mean minus control mean, with its interval.
        lift: variant mean over control mean, minus 1, with its interval.
        probability_to_beat: probability that the variant's true mean exceeds control's.
    """

    control_mean: float
    variant_mean: float
    difference: Interval
    lift: Interval
    probability_to_beat: float


@dataclass(frozen=True)
class SampleRatioCheck:
    """Chi-square goodness of fit of the assignment counts against the planned split.

    Attributes:
        statistic: the chi-square statistic.
        p_value: probability of a split at least this uneven if assignment works as planned.
        mismatch: True when p_value is below the threshold: the assignment (or the
            logging of it) is broken and the experiment's results cannot be trusted.
    """

    statistic: float
    p_value: float
    mismatch: bool


@dataclass(frozen=True)
class CupedAdjustment:
    """A metric adjusted by its pre-experiment covariate (CUPED).

    Attributes:
        theta: cov(Y, X) / var(X) over the pooled data of all variants.
        variance_reduction: 1 - var(adjusted) / var(Y) over the pooled data.
        adjusted: per variant, Y - theta * (X - mean X), mean X pooled.
        adjusted_means: per variant, the mean of its adjusted values.
    """

    theta: float
    variance_reduction: float
    adjusted: dict[str, np.ndarray]
    adjusted_means: dict[str, float]


def probability_to_beat(
    control: RateCounts,
    variant: RateCounts,
    *,
    method: Method = "auto",
    draws: int = DEFAULT_DRAWS,
    rng: Seed = 0,
) -> float:
    """Posterior probability that the variant's rate exceeds control's.

    Args:
        control: counts of the control arm.
        variant: counts of the variant arm.
        method: "exact" sums the closed form for two Beta posteriors; "monte_carlo"
            compares posterior draws; "auto" is exact up to EXACT_MAX_TERMS terms.
        draws: posterior draws per arm for Monte Carlo.
        rng: Generator or seed for Monte Carlo.

    Returns:
        P(p_variant > p_control), in [0, 1].
    """
    if _exact(method, control, variant):
        return _p_greater(variant.posterior, control.posterior)
    p_control, p_variant = _posterior_draws(control, variant, draws=draws, rng=rng)
    return float(np.mean(p_variant > p_control))


def expected_loss(
    control: RateCounts,
    variant: RateCounts,
    *,
    method: Method = "auto",
    draws: int = DEFAULT_DRAWS,
    rng: Seed = 0,
) -> ExpectedLoss:
    """Expected loss of shipping the variant, E[max(p_control - p_variant, 0)].

    Swap the arguments for the expected loss of keeping control.

    Args:
        control: counts of the control arm.
        variant: counts of the variant arm.
        method: as for probability_to_beat.
        draws: posterior draws per arm for Monte Carlo.
        rng: Generator or seed for Monte Carlo.

    Returns:
        The loss in units of the rate and relative to control's posterior mean.
    """
    if _exact(method, control, variant):
        (alpha_c, beta_c), (alpha_v, beta_v) = control.posterior, variant.posterior
        # x times the Beta(a, b) density is a / (a + b) times the Beta(a + 1, b)
        # density, which turns E[p_c 1{p_c > p_v}] and E[p_v 1{p_c > p_v}] into
        # probabilities of the same closed form.
        gain = control.posterior_mean * _p_greater((alpha_c + 1, beta_c), (alpha_v, beta_v))
        cost = variant.posterior_mean * _p_greater((alpha_c, beta_c), (alpha_v + 1, beta_v))
        absolute = max(gain - cost, 0.0)
    else:
        p_control, p_variant = _posterior_draws(control, variant, draws=draws, rng=rng)
        absolute = float(np.mean(np.maximum(p_control - p_variant, 0.0)))
    return ExpectedLoss(absolute=absolute, relative=absolute / control.posterior_mean)


def relative_lift(
    control: RateCounts,
    variant: RateCounts,
    *,
    confidence: float = 0.95,
    draws: int = DEFAULT_DRAWS,
    rng: Seed = 0,
) -> Interval:
    """Relative lift of the variant's rate over control's, p_variant / p_control - 1.

    The interval is the central credible interval of the lift by Monte Carlo
    from the two Beta posteriors, which, unlike the delta method, stays sound
    for small counts and for arms with no successes yet.

    Args:
        control: counts of the control arm.
        variant: counts of the variant arm.
        confidence: mass of the interval.
        draws: posterior draws per arm.
        rng: Generator or seed.

    Returns:
        The ratio of posterior means minus 1, with the interval's bounds.
    """
    p_control, p_variant = _posterior_draws(control, variant, draws=draws, rng=rng)
    low, high = np.quantile(p_variant / p_control - 1.0, _tails(confidence))
    estimate = variant.posterior_mean / control.posterior_mean - 1.0
    return Interval(estimate=estimate, low=float(low), high=float(high))


@dataclass(frozen=True)
class Moments:
    """One arm's per-visitor values summed up: how many, their mean and their sample variance (ddof 1)."""

    count: int
    mean: float
    variance: float

    @classmethod
    def of(cls, values: np.ndarray) -> "Moments":
        return cls(count=int(values.size), mean=float(values.mean()), variance=float(values.var(ddof=1)))

    @classmethod
    def from_sums(cls, *, count: int, total: float, squares: float) -> "Moments":
        """From the count, the sum and the sum of squares of the values, as a database aggregates them.

        Raises:
            ValueError: fewer than two values.
        """
        if count < 2:
            raise ValueError("an arm needs at least two values")
        mean = total / count
        # Clipped at zero: in floating point, equal values can leave a tiny negative sum of squared deviations.
        return cls(count=count, mean=mean, variance=max(squares - count * mean * mean, 0.0) / (count - 1))


def welch_comparison(
    control: ArrayLike, variant: ArrayLike, *, confidence: float = 0.95
) -> MeanComparison:
    """Compare two means with Welch's t approximation (unequal variances).

    The difference's interval and the probability to beat use the t
    distribution with Welch-Satterthwaite degrees of freedom; the lift's
    interval applies the delta method to the log of the ratio of means, whose
    distribution is far less lopsided than the ratio's on skewed revenue and
    whose interval never reaches below -100 %.

    Args:
        control: one value per control visitor (zeros included).
        variant: one value per variant visitor.
        confidence: mass of the intervals.

    Returns:
        Means, difference, lift and probability to beat.

    Raises:
        ValueError: an arm has fewer than two values, or a mean is not positive.
    """
    control_values, variant_values = _arm_values(control, variant)
    return welch_moments_comparison(Moments.of(control_values), Moments.of(variant_values), confidence=confidence)


def welch_moments_comparison(control: Moments, variant: Moments, *, confidence: float = 0.95) -> MeanComparison:
    """welch_comparison from each arm's moments rather than its values.

    Raises:
        ValueError: a mean is not positive.
    """
    mean_c, mean_v = control.mean, variant.mean
    _check_positive_means(mean_c, mean_v)
    var_c, var_v = control.variance / control.count, variant.variance / variant.count
    se = math.sqrt(var_c + var_v)
    difference = mean_v - mean_c
    if se == 0:
        return _certain_comparison(mean_c, mean_v)
    dof = (var_c + var_v) ** 2 / (var_c**2 / (control.count - 1) + var_v**2 / (variant.count - 1))
    t = stats.t(dof)
    critical = float(t.ppf(_tails(confidence)[1]))
    log_ratio = math.log(mean_v / mean_c)
    se_log = math.sqrt(var_c / mean_c**2 + var_v / mean_v**2)
    return MeanComparison(
        control_mean=float(mean_c),
        variant_mean=float(mean_v),
        difference=Interval(
            estimate=float(difference),
            low=float(difference - critical * se),
            high=float(difference + critical * se),
        ),
        lift=Interval(
            estimate=math.exp(log_ratio) - 1.0,
            low=math.exp(log_ratio - critical * se_log) - 1.0,
            high=math.exp(log_ratio + critical * se_log) - 1.0,
        ),
        probability_to_beat=float(t.cdf(difference / se)),
    )


def means_expected_loss(control: Moments, variant: Moments) -> ExpectedLoss:
    """Expected loss of shipping the variant on a mean: E[max(mu_control - mu_variant, 0)] with the difference
    of means normal (its standard error from the arms' variances), in units of the metric and relative to
    control's mean."""
    difference = variant.mean - control.mean
    se = math.sqrt(control.variance / control.count + variant.variance / variant.count)
    if se == 0:
        absolute = max(-difference, 0.0)
    else:
        z = difference / se
        absolute = se * float(stats.norm.pdf(z)) - difference * float(stats.norm.cdf(-z))
    return ExpectedLoss(absolute=absolute, relative=absolute / control.mean if control.mean else math.inf)


def bootstrap_comparison(
    control: ArrayLike,
    variant: ArrayLike,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    rng: Seed = 0,
) -> MeanComparison:
    """Compare two means by resampling each arm's visitors with replacement.

    Intervals are percentile intervals of the resampled difference and lift;
    the probability to beat is the share of resamples where the variant's mean
    is higher (ties count half). Makes no normality assumption, so it holds up
    better than Welch on small arms with a few very large orders.

    Args:
        control: one value per control visitor (zeros included).
        variant: one value per variant visitor.
        resamples: bootstrap resamples per arm.
        confidence: mass of the intervals.
        rng: Generator or seed.

    Returns:
        Observed means and difference and lift, with bootstrap intervals, and
        the probability to beat.

    Raises:
        ValueError: an arm has fewer than two values, or a mean is not positive.
    """
    control_values, variant_values = _arm_values(control, variant)
    mean_c, mean_v = control_values.mean(), variant_values.mean()
    _check_positive_means(mean_c, mean_v)
    generator = np.random.default_rng(rng)
    boot_c = _bootstrap_means(control_values, resamples=resamples, rng=generator)
    boot_v = _bootstrap_means(variant_values, resamples=resamples, rng=generator)
    tails = _tails(confidence)
    differences = boot_v - boot_c
    # A sparse control arm can resample to a zero mean; its lift is then
    # infinite, which only widens the interval, as it should.
    with np.errstate(divide="ignore", invalid="ignore"):
        lifts = boot_v / boot_c - 1.0
    diff_low, diff_high = np.quantile(differences, tails)
    lift_low, lift_high = np.quantile(lifts, tails)
    return MeanComparison(
        control_mean=float(mean_c),
        variant_mean=float(mean_v),
        difference=Interval(
            estimate=float(mean_v - mean_c), low=float(diff_low), high=float(diff_high)
        ),
        lift=Interval(
            estimate=float(mean_v / mean_c - 1.0), low=float(lift_low), high=float(lift_high)
        ),
        probability_to_beat=float(np.mean(differences > 0) + 0.5 * np.mean(differences == 0)),
    )


def sample_ratio_mismatch(
    *,
    observed: Sequence[int],
    expected_shares: Sequence[float],
    threshold: float = SRM_THRESHOLD,
) -> SampleRatioCheck:
    """Test whether visitors were assigned to the arms in the planned proportions.

    Args:
        observed: visitors assigned to each arm.
        expected_shares: planned share of each arm, in the same order; they are
            normalized, so weights such as (1, 1, 2) work too.
        threshold: p-value below which the split is called a mismatch. The usual
            0.001 keeps false alarms rare although the check runs every day.

    Returns:
        The chi-square statistic, its p-value and the verdict. With no visitors
        yet there is nothing to reject: p-value 1, no mismatch.

    Raises:
        ValueError: the two sequences differ in length, have fewer than two arms,
            or hold negative counts or non-positive shares.
    """
    counts = np.asarray(observed, dtype=np.float64)
    shares = np.asarray(expected_shares, dtype=np.float64)
    if counts.ndim != 1 or counts.shape != shares.shape or counts.size < 2:
        raise ValueError("observed and expected_shares need one entry per arm, two arms or more")
    if np.any(counts < 0) or np.any(shares <= 0):
        raise ValueError("counts must be non-negative and shares positive")
    total = counts.sum()
    if total == 0:
        return SampleRatioCheck(statistic=0.0, p_value=1.0, mismatch=False)
    result = stats.chisquare(counts, f_exp=total * shares / shares.sum())
    p_value = float(result.pvalue)
    return SampleRatioCheck(
        statistic=float(result.statistic), p_value=p_value, mismatch=p_value < threshold
    )


@dataclass(frozen=True)
class CupedSums:
    """One arm's sums for CUPED, as a database keeps them: visitors, and the sums of the metric y, y², the
    covariate x, x² and x·y over them."""

    count: int
    total: float
    squares: float
    pre_total: float
    pre_squares: float
    cross: float


def _centered(count: float, a_total: float, b_total: float, ab_total: float) -> float:
    """The sample covariance (ddof 1) of a and b from their sums."""
    return (ab_total - a_total * b_total / count) / (count - 1)


def cuped_sums_adjust(arms: Mapping[str, CupedSums]) -> tuple[float, float, dict[str, Moments]]:
    """cuped_adjust from each arm's sums rather than its values: theta and the variance reduction over the pooled
    arms, and each arm's adjusted moments (count, mean, sample variance), ready for welch_moments_comparison.

    Raises:
        ValueError: an arm has fewer than two visitors.
    """
    if any(arm.count < 2 for arm in arms.values()):
        raise ValueError("each arm needs at least two visitors")
    pooled = CupedSums(*(sum(getattr(arm, name) for arm in arms.values()) for name in CupedSums.__dataclass_fields__))
    var_x = _centered(pooled.count, pooled.pre_total, pooled.pre_total, pooled.pre_squares)
    var_y = _centered(pooled.count, pooled.total, pooled.total, pooled.squares)
    cov = _centered(pooled.count, pooled.pre_total, pooled.total, pooled.cross)
    theta = cov / var_x if var_x > 0 else 0.0
    reduction = 1.0 - (var_y - 2 * theta * cov + theta**2 * var_x) / var_y if var_y > 0 else 0.0
    mean_x = pooled.pre_total / pooled.count
    adjusted = {}
    for name, arm in arms.items():
        arm_var_x = _centered(arm.count, arm.pre_total, arm.pre_total, arm.pre_squares)
        arm_var_y = _centered(arm.count, arm.total, arm.total, arm.squares)
        arm_cov = _centered(arm.count, arm.pre_total, arm.total, arm.cross)
        adjusted[name] = Moments(
            count=arm.count,
            mean=arm.total / arm.count - theta * (arm.pre_total / arm.count - mean_x),
            variance=max(arm_var_y - 2 * theta * arm_cov + theta**2 * arm_var_x, 0.0),
        )
    return theta, reduction, adjusted


def cuped_adjust(
    *, metric: Mapping[str, ArrayLike], covariate: Mapping[str, ArrayLike]
) -> CupedAdjustment:
    """Reduce a metric's variance with a pre-experiment covariate (CUPED).

    Theta and the covariate's mean come from all variants pooled, so the same
    correction applies everywhere; as the covariate predates assignment, the
    adjustment leaves the difference between variants unbiased.

    Args:
        metric: per variant, each visitor's value during the experiment (Y).
        covariate: per variant, the same visitors' value before it (X), in the
            same order; for new visitors use 0.

    Returns:
        Theta, the variance reduction, and per variant the adjusted values and their mean.

    Raises:
        ValueError: the variants differ between the two mappings, or a variant's
            metric and covariate differ in length, or there is no data at all.
    """
    if set(metric) != set(covariate):
        raise ValueError("metric and covariate need the same variants")
    names = list(metric)
    ys = {name: np.asarray(metric[name], dtype=np.float64).ravel() for name in names}
    xs = {name: np.asarray(covariate[name], dtype=np.float64).ravel() for name in names}
    if any(ys[name].shape != xs[name].shape for name in names):
        raise ValueError("each variant needs one covariate value per metric value")
    y_all = np.concatenate([ys[name] for name in names])
    x_all = np.concatenate([xs[name] for name in names])
    if y_all.size == 0:
        raise ValueError("no data to adjust")
    x_mean = x_all.mean()
    var_x = x_all.var()
    # A constant covariate carries no information: leave the metric as it is.
    theta = float(np.mean((y_all - y_all.mean()) * (x_all - x_mean)) / var_x) if var_x > 0 else 0.0
    adjusted = {name: ys[name] - theta * (xs[name] - x_mean) for name in names}
    var_y = y_all.var()
    adjusted_var = (y_all - theta * (x_all - x_mean)).var()
    return CupedAdjustment(
        theta=theta,
        variance_reduction=float(1.0 - adjusted_var / var_y) if var_y > 0 else 0.0,
        adjusted=adjusted,
        adjusted_means={name: float(values.mean()) for name, values in adjusted.items()},
    )


def sample_size_per_variant(
    *, baseline_rate: float, relative_mde: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Visitors each arm needs to detect a relative change of a rate.

    The standard formula for a two-sided two-proportion z-test (pooled variance
    under the null, unpooled under the alternative, no continuity correction).

    Args:
        baseline_rate: control's expected rate, in (0, 1).
        relative_mde: smallest relative change worth detecting (0.1 is +10 %).
        alpha: two-sided significance level.
        power: probability of detecting a true change of relative_mde.

    Returns:
        Visitors per arm, rounded up.

    Raises:
        ValueError: a rate falls outside (0, 1), the change is zero, or alpha or
            power lie outside (0, 1).
    """
    p1 = baseline_rate
    p2 = baseline_rate * (1.0 + relative_mde)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        raise ValueError("baseline and changed rates must differ and both lie in (0, 1)")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must lie in (0, 1)")
    z_alpha = stats.norm.ppf(1.0 - alpha / 2.0)
    z_power = stats.norm.ppf(power)
    p_bar = (p1 + p2) / 2.0
    root = z_alpha * math.sqrt(2.0 * p_bar * (1.0 - p_bar)) + z_power * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    return math.ceil(root**2 / (p2 - p1) ** 2)


def days_needed(
    *, visitors_per_variant: int, daily_visitors: float, traffic_shares: Sequence[float]
) -> int:
    """Whole days until every arm has seen visitors_per_variant visitors.

    Args:
        visitors_per_variant: visitors each arm needs (see sample_size_per_variant).
        daily_visitors: visitors per day on the experiment's page, all arms and
            non-participants together.
        traffic_shares: each arm's share of those visitors, control included;
            they sum to less than 1 when only part of the traffic takes part.

    Returns:
        Days, rounded up; the arm with the smallest share sets the pace.

    Raises:
        ValueError: no visitors a day, a share not positive, or shares summing above 1.
    """
    shares = np.asarray(traffic_shares, dtype=np.float64)
    if daily_visitors <= 0 or shares.size == 0 or np.any(shares <= 0):
        raise ValueError("daily visitors and every traffic share must be positive")
    if shares.sum() > 1.0 + 1e-9:
        raise ValueError("traffic shares cannot sum above 1")
    if visitors_per_variant < 0:
        raise ValueError("visitors_per_variant cannot be negative")
    # Rounded first so that float noise in share * visitors cannot add a whole day.
    return math.ceil(round(visitors_per_variant / (daily_visitors * shares.min()), 9))


def thompson_shares(
    arms: Mapping[str, RateCounts],
    *,
    floor: float = THOMPSON_FLOOR,
    draws: int = THOMPSON_DRAWS,
    rng: Seed = 0,
) -> dict[str, float]:
    """Traffic shares for the bandit mode, by Thompson sampling.

    Each arm gets the floor, which keeps every arm learning and the data fit
    for a final comparison; the rest is split in proportion to how often the
    arm's posterior draw is the highest.

    Args:
        arms: counts per arm name, control included.
        floor: least share of each arm; at most 1 / len(arms).
        draws: posterior draws per arm.
        rng: Generator or seed.

    Returns:
        Share per arm name, summing to 1, in the order of arms.

    Raises:
        ValueError: no arms, or the floors alone exceed the whole traffic.
    """
    names = list(arms)
    if not names:
        raise ValueError("no arms to allocate")
    if not 0 <= floor * len(names) <= 1:
        raise ValueError(f"a floor of {floor} for {len(names)} arms exceeds the whole traffic")
    generator = np.random.default_rng(rng)
    samples = np.column_stack(
        [generator.beta(*arms[name].posterior, size=draws) for name in names]
    )
    wins = np.bincount(samples.argmax(axis=1), minlength=len(names)) / draws
    shares = floor + (1.0 - floor * len(names)) * wins
    return dict(zip(names, shares.tolist(), strict=True))


def decision_text(
    *,
    variant: str,
    metric: str,
    probability: float,
    lift: Interval,
    expected_loss: float,
    days_remaining: int | None = None,
    target: float = 0.95,
) -> str:
    """One sentence a merchandiser can act on, from figures computed elsewhere.

    Args:
        variant: display name of the variant ("Variant B").
        metric: what is compared ("conversion", "revenue per visitor").
        probability: probability that the variant beats control.
        lift: relative lift over control and its interval, as fractions (0.041 is +4.1 %).
        expected_loss: expected loss if shipped, as a fraction of control's metric.
        days_remaining: estimated days until the evidence is enough; None when unknown.
        target: probability at which the variant is called better, and at
            1 - target worse.

    Returns:
        For example "Variant B: 91 % likely better than control on conversion,
        +4.1 % (−0.3 % to +8.7 %); expected loss if shipped 0.02 %; keep running
        ~3 more days to reach 95 %."
    """
    bar = f"{target * 100:g} %"
    if probability >= target:
        advice = f"ready to ship at {bar}"
    elif probability <= 1.0 - target:
        advice = "likely worse than control; stop and keep control"
    elif days_remaining is None:
        advice = f"keep running to reach {bar}"
    else:
        days = max(days_remaining, 1)
        advice = f"keep running ~{days} more day{'' if days == 1 else 's'} to reach {bar}"
    return (
        f"{variant}: {_chance(probability)} likely better than control on {metric}, "
        f"{signed_percent(lift.estimate)} ({signed_percent(lift.low)} to "
        f"{signed_percent(lift.high)}); expected loss if shipped {expected_loss * 100:.2f} %; "
        f"{advice}."
    )


def _exact(method: Method, control: RateCounts, variant: RateCounts) -> bool:
    if method == "auto":
        return min(control.posterior[0], variant.posterior[0]) <= EXACT_MAX_TERMS
    if method not in ("exact", "monte_carlo"):
        raise ValueError(f"unknown method {method!r}")
    return method == "exact"


def _p_greater(greater: tuple[float, float], lesser: tuple[float, float]) -> float:
    """P(Y > X) for independent Y ~ Beta(*greater), X ~ Beta(*lesser); both alphas integers.

    The closed form sums one term per unit of Y's alpha (Evan Miller, "Formulas
    for Bayesian A/B testing"); as ties have probability zero, P(Y > X) is also
    1 - P(X > Y), so the sum runs over the smaller alpha.
    """
    if greater[0] > lesser[0]:
        return 1.0 - _p_greater(lesser, greater)
    (alpha_y, beta_y), (alpha_x, beta_x) = greater, lesser
    i = np.arange(alpha_y, dtype=np.float64)
    log_terms = (
        special.betaln(alpha_x + i, beta_x + beta_y)
        - np.log(beta_y + i)
        - special.betaln(1.0 + i, beta_y)
        - special.betaln(alpha_x, beta_x)
    )
    return min(max(float(np.exp(special.logsumexp(log_terms))), 0.0), 1.0)


def _posterior_draws(
    control: RateCounts, variant: RateCounts, *, draws: int, rng: Seed
) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(rng)
    return (
        generator.beta(*control.posterior, size=draws),
        generator.beta(*variant.posterior, size=draws),
    )


def _tails(confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return (1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0


def _arm_values(control: ArrayLike, variant: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    arms = []
    for name, values in (("control", control), ("variant", variant)):
        array = np.asarray(values, dtype=np.float64).ravel()
        if array.size < 2 or not np.all(np.isfinite(array)):
            raise ValueError(f"{name} needs at least two finite values")
        arms.append(array)
    return arms[0], arms[1]


def _check_positive_means(mean_c: float, mean_v: float) -> None:
    if mean_c <= 0 or mean_v <= 0:
        raise ValueError(
            f"a relative lift needs positive means, got control {mean_c:g} and variant {mean_v:g}"
        )


def _bootstrap_means(values: np.ndarray, *, resamples: int, rng: np.random.Generator) -> np.ndarray:
    block = max(1, BOOTSTRAP_BLOCK // values.size)
    means = np.empty(resamples)
    for start in range(0, resamples, block):
        stop = min(start + block, resamples)
        indices = rng.integers(0, values.size, size=(stop - start, values.size))
        means[start:stop] = values[indices].mean(axis=1)
    return means


def _certain_comparison(mean_c: float, mean_v: float) -> MeanComparison:
    # Both arms constant: the means are known exactly and so is their order.
    difference, lift = float(mean_v - mean_c), float(mean_v / mean_c - 1.0)
    return MeanComparison(
        control_mean=float(mean_c),
        variant_mean=float(mean_v),
        difference=Interval(estimate=difference, low=difference, high=difference),
        lift=Interval(estimate=lift, low=lift, high=lift),
        probability_to_beat=0.5 if difference == 0 else float(difference > 0),
    )


def _chance(probability: float) -> str:
    percent = round(probability * 100)
    if percent >= 100:
        return "> 99 %"
    if percent <= 0:
        return "< 1 %"
    return f"{percent} %"


def signed_percent(fraction: float) -> str:
    value = round(fraction * 100, 1)
    if value > 0:
        return f"+{value:.1f} %"
    if value < 0:
        return f"{MINUS}{-value:.1f} %"
    return "0.0 %"
