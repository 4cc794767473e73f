"""Rates (clicks per impression, conversions per visitor), the Bayesian way: each arm's Beta posterior from a
uniform Beta(1, 1) prior, the probability that the variant beats control, the expected loss of shipping it
and its relative lift."""

import operator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from .common import ExpectedLoss, Interval, Seed, _tails

PRIOR_ALPHA = 1
PRIOR_BETA = 1
DEFAULT_DRAWS = 100_000
# The exact sum has one term per success of the arm with fewer successes; past
# this many, Monte Carlo is faster and its error (under 0.002 at DEFAULT_DRAWS)
# is far below anything a decision turns on.
EXACT_MAX_TERMS = 1_000_000

Method = Literal["auto", "exact", "monte_carlo"]


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
