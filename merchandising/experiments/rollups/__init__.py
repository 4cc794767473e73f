"""Experiment rollups: each variant's outcomes per shop, experiment, day (UTC) and rail, and its distinct visitors
and purchasers per day, kept as events are stored (catalog.signals.events_stored) so that a report never
reads raw events.

An event counts for the variant its shopper is assigned at the event's time (merchandising.experiments.
assignment, over the experiments running then):
- an event sent back with a string `request_id` in its context comes from a served page: its shopper is a
  visitor that day;
- a click or add-to-cart with a rail key counts on that rail;
- a purchase counts when its shopper had such an event in the experiment within its attribution window
  before it (the purchase itself included), on its rail or on rail "" without one; its revenue is its
  quantity × the item's price; its shopper is a purchaser that day, with that revenue added to their day.
Visitors and purchasers are distinct: a shopper's first visit (or attributed purchase) in a variant adds a row
to ExperimentShopper and one to its day's count on rail ""; later ones add nothing. A purchaser's revenue is
summed on their row, and what each purchase adds to the sum of purchasers' revenue squared goes to its day:
a report reads days only, however many shoppers and events the shop has. Pages served are counted at serve
time (homepage.rollups) on rail "" and per rail shown.

An exposure that arrives after the purchase it precedes is found by a recount (`manage.py rollups_rebuild`)
but not by the purchase's own batch: storefronts send events in order, and a recount settles the rest.
"""

from .counting import CUPED_METRICS, PRE_DAYS
from .reading import (
    RailTotals,
    VariantTotals,
    experiment_pre_sums,
    experiment_rail_totals,
    experiment_revenue_sums,
    experiment_variant_days,
    experiment_variant_totals,
    totals_through_last_day,
)
from .refresh import experiment_rollups_add, rollups_rebuild, shopper_uncount

__all__ = [
    "CUPED_METRICS",
    "PRE_DAYS",
    "RailTotals",
    "VariantTotals",
    "experiment_pre_sums",
    "experiment_rail_totals",
    "experiment_revenue_sums",
    "experiment_rollups_add",
    "experiment_variant_days",
    "experiment_variant_totals",
    "rollups_rebuild",
    "shopper_uncount",
    "totals_through_last_day",
]
