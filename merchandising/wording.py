"""The console's figures in plain words, beside the numbers: what a rate or a metric means for shoppers."""

from datetime import datetime

from django.utils import timezone

MINUTE_S = 60
HOUR_S = 3600


def share_in_words(value: float) -> str:
    """A share as "6 in 100", or per 1,000 when it is under one in a hundred."""
    if round(value * 100) >= 1:
        return f"{round(value * 100):,} in 100"
    if round(value * 1000) >= 1:
        return f"{round(value * 1000):,} in 1,000"
    return "fewer than 1 in 1,000"


def click_through_words(ctr: float | None) -> str:
    """A rail's clicks over the items it showed (one impression per item shown)."""
    if ctr is None:
        return ""
    clicks = round(ctr * 1000)
    return f"{clicks:,} click{'' if clicks == 1 else 's'} for every 1,000 items shown in this rail"


def hit_rate_words(hr_10: float | None) -> str:
    """HR@10: the share of shoppers whose next item was among the first 10 recommended."""
    if hr_10 is None:
        return ""
    return f"for {share_in_words(hr_10)} shoppers, the item they engaged with next was among the first 10 recommended (higher is better)"


def ndcg_words(ndcg_10: float | None) -> str:
    """NDCG@10 with one held-out item per shopper: 1 when it is ranked first, less the lower it sits in the
    first 10, 0 below them; the average is the share of shoppers who would score the same all ranked first."""
    if ndcg_10 is None:
        return ""
    return (
        f"the item a shopper engaged with next is ranked as high as if it came first for {share_in_words(ndcg_10)} shoppers "
        "and outside the first 10 for the rest (higher is better, 1 at most)"
    )


def time_left_words(done_at: datetime | None, now: datetime | None = None) -> str:
    """A run's estimated end as "about 3 min left"."""
    if done_at is None:
        return "estimating the time left"
    left_s = (done_at - (now or timezone.now())).total_seconds()
    if left_s < 10:
        return "a few seconds left"
    if left_s < MINUTE_S:
        return f"about {round(left_s / 10) * 10} s left"
    if left_s < HOUR_S:
        return f"about {round(left_s / MINUTE_S)} min left"
    hours, minutes = divmod(round(left_s / MINUTE_S), 60)
    return f"about {hours} h {minutes} min left" if minutes else f"about {hours} h left"


def percent(value: float | None, digits: int = 1) -> str:
    """A fraction as "4.1 %", "—" when there is none yet."""
    return "—" if value is None else f"{value * 100:.{digits}f} %"

