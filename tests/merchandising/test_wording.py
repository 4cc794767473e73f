"""The console's figures in plain words: each sentence says what the number means for shoppers."""

from datetime import datetime, timedelta, timezone

import pytest

from merchandising import wording

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "words"),
    [(0.23, "23 in 100"), (0.061, "6 in 100"), (0.004, "4 in 1,000"), (0.0001, "fewer than 1 in 1,000"), (1.0, "100 in 100")],
)
def test_a_share_is_said_per_hundred_or_per_thousand_when_small(value, words):
    assert wording.share_in_words(value) == words


def test_click_through_is_clicks_per_thousand_items_shown():
    assert wording.click_through_words(0.023) == "23 clicks for every 1,000 items shown in this rail"
    assert wording.click_through_words(0.001) == "1 click for every 1,000 items shown in this rail"
    assert wording.click_through_words(None) == ""


def test_hit_rate_and_ndcg_say_what_happened_to_the_next_item():
    assert wording.hit_rate_words(0.43) == (
        "for 43 in 100 shoppers, the item they engaged with next was among the first 10 recommended (higher is better)"
    )
    assert wording.ndcg_words(0.061) == (
        "the item a shopper engaged with next is ranked as high as if it came first for 6 in 100 shoppers "
        "and outside the first 10 for the rest (higher is better, 1 at most)"
    )
    assert wording.hit_rate_words(None) == wording.ndcg_words(None) == ""


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (3, "a few seconds left"),
        (-20, "a few seconds left"),
        (42, "about 40 s left"),
        (70, "about 1 min left"),
        (130, "about 2 min left"),
        (3600 + 25 * 60, "about 1 h 25 min left"),
        (7200, "about 2 h left"),
    ],
)
def test_the_time_left_is_rounded_as_a_person_would_say_it(seconds, words):
    assert wording.time_left_words(NOW + timedelta(seconds=seconds), now=NOW) == words


def test_no_estimate_yet_says_so():
    assert wording.time_left_words(None, now=NOW) == "estimating the time left"
