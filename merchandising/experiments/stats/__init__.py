"""Statistics for A/B experiments: pure functions over counts and arrays, no Django.

Rates (clicks per impression, conversions per visitor) are judged the Bayesian
way: each arm's rate gets a Beta posterior from a uniform Beta(1, 1) prior, and
the report says how likely the variant beats control and what shipping it would
cost if it does not. Continuous, heavy-tailed metrics such as revenue per
visitor are compared with Welch's normal approximation or a bootstrap.

Everything that samples takes a numpy Generator or an int seed and defaults to a
fixed seed, so the same data always yields the same report.
"""

from .bandit import thompson_shares
from .common import ExpectedLoss, Interval
from .cuped import CupedSums, cuped_adjust, cuped_sums_adjust
from .means import (
    Moments,
    bootstrap_comparison,
    means_expected_loss,
    welch_comparison,
    welch_moments_comparison,
)
from .planning import days_needed, sample_size_per_variant
from .rates import (
    EXACT_MAX_TERMS,
    RateCounts,
    expected_loss,
    probability_to_beat,
    relative_lift,
)
from .srm import SampleRatioCheck, sample_ratio_mismatch
from .wording import decision_text, signed_percent

__all__ = [
    "CupedSums",
    "EXACT_MAX_TERMS",
    "ExpectedLoss",
    "Interval",
    "Moments",
    "RateCounts",
    "SampleRatioCheck",
    "bootstrap_comparison",
    "cuped_adjust",
    "cuped_sums_adjust",
    "days_needed",
    "decision_text",
    "expected_loss",
    "means_expected_loss",
    "probability_to_beat",
    "relative_lift",
    "sample_ratio_mismatch",
    "sample_size_per_variant",
    "signed_percent",
    "thompson_shares",
    "welch_comparison",
    "welch_moments_comparison",
]
