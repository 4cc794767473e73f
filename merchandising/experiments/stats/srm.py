"""The sample ratio check: whether visitors were assigned to the arms in the planned proportions."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

SRM_THRESHOLD = 0.001


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
