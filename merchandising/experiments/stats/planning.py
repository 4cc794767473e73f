"""Planning an experiment: the visitors each arm needs to detect a change, and the days that takes."""

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


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
