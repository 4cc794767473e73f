"""Figures in words: the sentence a merchandiser acts on, and signed percentages."""

from .common import Interval

MINUS = "\u2212"


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
