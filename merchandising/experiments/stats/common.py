"""What the statistics modules share: the seed of what samples, an estimate with its interval, an expected
loss, and the tails of a central interval."""

from dataclasses import dataclass

import numpy as np

Seed = np.random.Generator | int


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


def _tails(confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return (1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0
