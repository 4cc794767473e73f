"""The console's plain-language filters: `{% load wording %}`, then `{{ row.ctr|click_through_words }}`."""

from django import template

from merchandising import wording
from merchandising.experiments.stats import signed_percent

register = template.Library()

register.filter("click_through_words", wording.click_through_words)
register.filter("hit_rate_words", wording.hit_rate_words)
register.filter("ndcg_words", wording.ndcg_words)
register.filter("time_left_words", wording.time_left_words)
register.filter("percent", wording.percent)
register.filter("signed_percent", signed_percent)
