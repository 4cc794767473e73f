"""The bandit mode's traffic shares, by Thompson sampling over the arms' Beta posteriors."""

from collections.abc import Mapping

import numpy as np

from .common import Seed
from .rates import RateCounts

THOMPSON_FLOOR = 0.05
THOMPSON_DRAWS = 10_000


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
