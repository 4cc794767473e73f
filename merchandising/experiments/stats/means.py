"""Continuous, heavy-tailed metrics such as revenue per visitor: variant against control by Welch's normal
approximation (from the values or from each arm's moments) or by a bootstrap, and the expected loss on a mean."""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from .common import ExpectedLoss, Interval, Seed, _tails

DEFAULT_RESAMPLES = 2_000
# Bootstrap indices are drawn in blocks of at most this many, bounding memory
# to a few tens of MB whatever the number of visitors.
BOOTSTRAP_BLOCK = 4_000_000


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
