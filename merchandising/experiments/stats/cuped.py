"""CUPED: a metric's variance reduced by its pre-experiment covariate, from each visitor's values or from each
arm's sums as a database keeps them."""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .means import Moments


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
