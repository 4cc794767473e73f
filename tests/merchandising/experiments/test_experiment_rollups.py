"""Experiment rollups: events attributed to the variant their shopper is assigned and to the rail they came
from, purchases within the attribution window, distinct visitors and purchasers, pages served; a recount
equals what the batches kept."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import ExperimentDay, ExperimentShopper
from homepage.rollups import FLUSHING_KEY, PAGES_KEY, rollup_pages_flush
from merchandising.experiments.assignment import shopper_arm
from merchandising.experiments.models import Experiment, Variant
from merchandising.experiments.rollups import (
    experiment_pre_sums,
    experiment_revenue_sums,
    experiment_variant_days,
    experiment_variant_totals,
)
from merchandising.experiments.services import (
    experiment_create,
    experiment_start,
    experiment_stop,
    variant_add,
)
from merchandising.services import default_rails_ensure
from tests.experiments import experiment_outcomes
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def pages_counted_cleared():
    cache.delete_many([PAGES_KEY, FLUSHING_KEY])


@pytest.fixture
def experiment(shop_a):
    """Control and b (a holdout) at half the traffic each, on all of it, started three days ago."""
    default_rails_ensure(shop=shop_a)
    ItemFactory.create_batch(12, shop=shop_a, price=Decimal("10.00"))
    started = experiment_create(shop=shop_a, actor=None, name="Rails", primary_metric=Experiment.Metric.CONVERSION)
    for key, kind in (("control", Variant.Kind.CONTROL), ("b", Variant.Kind.HOLDOUT)):
        variant_add(experiment=started, actor=None, key=key, name=key, share=0.5, kind=kind)
    started = experiment_start(experiment=started, actor=None)
    Experiment.objects.filter(pk=started.pk).update(started_at=timezone.now() - timedelta(days=3))
    started.refresh_from_db()
    return started


def _shopper_in(shop, variant_key: str, skip: int = 0) -> str:
    found = (f"shopper-{number}" for number in range(1000)
             if shopper_arm(shop=shop, shopper_external_id=f"shopper-{number}").variant.key == variant_key)
    for _ in range(skip):
        next(found)
    return next(found)


def _served_events(page: dict, shopper: str, *specs) -> list[dict]:
    """Events sent back from a served page: (event id, type, hours after now (negative: before), fields)."""
    rail = page["rails"][0]
    item = rail["items"][0]
    events = []
    for event_id, kind, hours, fields in specs:
        context = {"request_id": page["request_id"], "rail": rail["key"], "slot": item["slot"]} if fields.pop("served", True) else {}
        events.append({
            "event_id": event_id, "shopper_id": shopper, "item_id": item["item_id"], "type": kind, "context": context,
            "occurred_at": (timezone.now() + timedelta(hours=hours)).isoformat(), **fields,
        })
    return events


def _rollups(experiment):
    days = ExperimentDay.objects.filter(experiment_id=experiment.pk).order_by("variant", "day", "rail").values_list(
        "variant", "day", "rail", "pages", "clicks", "add_to_carts", "purchases", "revenue", "visitors", "purchasers",
        "revenue_squares",
    )
    shoppers = ExperimentShopper.objects.filter(experiment_id=experiment.pk).order_by(
        "variant", "first_day", "outcome", "shopper"
    ).values_list("variant", "first_day", "outcome", "shopper__external_id", "revenue")
    return list(days), list(shoppers)


def test_events_from_a_served_page_count_for_the_shoppers_variant_and_rail(shop_a, storefront_a, experiment):
    in_b, in_control, idle = _shopper_in(shop_a, "b"), _shopper_in(shop_a, "control"), _shopper_in(shop_a, "b", skip=1)
    page_b = storefront_a.get(f"/api/v1/homepage/{in_b}").json()
    page_control = storefront_a.get(f"/api/v1/homepage/{in_control}").json()
    assert (page_b["experiment"], page_b["variant"], page_control["variant"]) == (experiment.pk, "b", "control")
    batch = [
        *_served_events(
            page_b, in_b,
            ("b-imp", "impression", -5, {}), ("b-click", "click", -5, {}), ("b-cart", "add_to_cart", -5, {}),
            ("b-buy", "purchase", -2, {"served": False, "value": 3}),  # 3 hours after the page: within 24 h
            ("b-buy-again", "purchase", -1, {"served": False}),  # a second purchase, the same purchaser
        ),
        *_served_events(
            page_control, in_control,
            ("c-imp", "impression", -40, {}),
            ("c-buy", "purchase", -1, {"served": False, "value": 1}),  # 39 hours after its page: outside the window
        ),
        *_served_events(page_b, idle, ("idle-buy", "purchase", -1, {"served": False})),  # never shown a page
        *_served_events(page_b, in_b, ("before-start", "click", -80, {})),  # before the experiment started
    ]
    assert storefront_a.post("/api/v1/events", batch, format="json").json()["created"] == len(batch)
    assert storefront_a.post("/api/v1/events", batch, format="json").json()["duplicates"] == len(batch)

    totals = {row.variant: row for row in experiment_variant_totals(experiment=experiment)}
    b, control = totals["b"], totals["control"]
    assert (b.visitors, b.clicks, b.add_to_carts, b.purchases, b.purchasers, b.revenue) == (1, 1, 1, 2, 1, Decimal("40.00"))
    assert (control.visitors, control.clicks, control.purchases, control.purchasers, control.revenue) == (1, 0, 0, 0, 0)
    rail = page_b["rails"][0]["key"]
    by_rail = {}
    for row in _rollups(experiment)[0]:
        if row[0] == "b":  # summed over days: early in the day (UTC) the events of the last hours fall on two
            by_rail[row[2]] = tuple(map(sum, zip(by_rail.get(row[2], (0, 0, 0, 0)), row[4:8])))
    assert by_rail == {rail: (1, 1, 0, Decimal("0")), "": (0, 0, 2, Decimal("40.00"))}
    # The purchaser's day holds both purchases' revenue: what revenue per visitor is compared on.
    purchaser_days = [row for row in _rollups(experiment)[1] if row[2] == ExperimentShopper.Outcome.PURCHASE]
    assert [(row[0], row[3], row[4]) for row in purchaser_days] == [("b", in_b, Decimal("40.00"))]
    assert experiment_revenue_sums(experiment=experiment) == {"b": (Decimal("40.00"), Decimal("1600.0000"))}

    before = _rollups(experiment)
    call_command("rollups_rebuild", "--shop", shop_a.slug)
    assert _rollups(experiment) == before


def test_pages_served_count_per_variant_and_rail(shop_a, storefront_a, experiment):
    in_b = _shopper_in(shop_a, "b")
    pages = [storefront_a.get(f"/api/v1/homepage/{in_b}").json() for _ in range(2)]
    rollup_pages_flush()

    totals = {row.variant: row for row in experiment_variant_totals(experiment=experiment)}
    assert (totals["b"].pages, totals["control"].pages) == (2, 0)
    shown = {rail["key"] for rail in pages[0]["rails"]}
    per_rail = dict(ExperimentDay.objects.filter(experiment_id=experiment.pk, variant="b").values_list("rail", "pages"))
    assert per_rail == {"": 2, **dict.fromkeys(shown, 2)}


def test_an_erased_shopper_leaves_the_distinct_counts(shop_a, storefront_a, experiment):
    in_b = _shopper_in(shop_a, "b")
    page = storefront_a.get(f"/api/v1/homepage/{in_b}").json()
    served = _served_events(page, in_b, ("imp", "impression", -1, {}), ("buy", "purchase", -1, {"served": False}))
    storefront_a.post("/api/v1/events", served, format="json")
    b = experiment_variant_totals(experiment=experiment)[1]
    assert (b.visitors, b.purchasers, b.revenue) == (1, 1, Decimal("10.00"))

    assert storefront_a.delete(f"/api/v1/shoppers/{in_b}").status_code in (200, 204)

    b = experiment_variant_totals(experiment=experiment)[1]
    assert (b.visitors, b.purchasers, b.revenue) == (0, 0, Decimal("0.00"))
    assert experiment_revenue_sums(experiment=experiment) == {}
    assert not ExperimentShopper.objects.filter(experiment_id=experiment.pk).exists()


def test_a_shopper_is_one_visitor_from_their_first_day_and_their_revenue_squares_add_up_across_batches(
    shop_a, storefront_a, experiment
):
    in_b = _shopper_in(shop_a, "b")
    page = storefront_a.get(f"/api/v1/homepage/{in_b}").json()
    # Two days of visits, then purchases in two batches: 3 × 10.00, then 1 × 10.00.
    for batch in (
        _served_events(page, in_b, ("day-one", "impression", -30, {}), ("day-two", "impression", -1, {})),
        _served_events(page, in_b, ("buy", "purchase", -1, {"served": False, "value": 3})),
        _served_events(page, in_b, ("buy-again", "purchase", -1, {"served": False})),
    ):
        assert storefront_a.post("/api/v1/events", batch, format="json").json()["created"] == len(batch)

    days = experiment_variant_days(experiment=experiment)
    first_day = (timezone.now() - timedelta(hours=30)).date()
    assert [(day, totals[1].visitors) for day, totals in days][0] == (first_day, 1)
    assert days[-1][1][1].visitors == 1 and days[-1][1][1].purchasers == 1
    assert experiment_revenue_sums(experiment=experiment) == {"b": (Decimal("40.00"), Decimal("1600.0000"))}
    before = _rollups(experiment)
    call_command("rollups_rebuild", "--shop", shop_a.slug)
    assert _rollups(experiment) == before


def test_deleting_an_experiment_deletes_its_rollups_and_no_other(shop_a, experiment):
    other = experiment_create(shop=shop_a, actor=None, name="Other", primary_metric=Experiment.Metric.CONVERSION)
    for one in (experiment, other):
        experiment_outcomes(one, "control", visitors=3, purchasers=1, pages=3, clicks=1)

    experiment.delete()

    assert set(ExperimentDay.objects.values_list("experiment_id", flat=True)) == {other.pk}
    assert set(ExperimentShopper.objects.values_list("experiment_id", flat=True)) == {other.pk}


def test_stored_batches_read_the_experiments_once_until_one_stops_or_is_deleted(shop_a, storefront_a, experiment):
    in_b = [_shopper_in(shop_a, "b", skip=skip) for skip in range(4)]
    page = storefront_a.get(f"/api/v1/homepage/{in_b[0]}").json()

    def visit(number: int, hours: float = 0) -> None:
        events = _served_events(page, in_b[number], (f"imp-{number}", "impression", hours, {}))
        assert storefront_a.post("/api/v1/events", events, format="json").json()["created"] == 1

    def visitors() -> int:
        return experiment_variant_totals(experiment=experiment)[1].visitors

    visit(0)
    with CaptureQueriesContext(connection) as queries:
        visit(1)
    assert not [query for query in queries if "merchandising_experiment" in query["sql"]]
    assert visitors() == 2

    experiment_stop(experiment=experiment, actor=None)
    visit(2)
    assert visitors() == 2  # after its end: counted for nothing

    deleted = experiment.pk
    experiment.delete()
    visit(3, hours=-1)  # sent late, from before its end: counted while it was kept
    assert not ExperimentShopper.objects.filter(experiment_id=deleted).exists()
    assert not ExperimentDay.objects.filter(experiment_id=deleted).exists()


def test_cuped_sums_hold_each_visitors_purchases_before_the_start_and_after(shop_a, storefront_a, experiment):
    repeat, newcomer = _shopper_in(shop_a, "b"), _shopper_in(shop_a, "b", skip=1)
    page = storefront_a.get(f"/api/v1/homepage/{repeat}").json()
    before_start = _served_events(page, repeat, ("old-buy", "purchase", -24 * 5, {"served": False}))
    assert storefront_a.post("/api/v1/events", before_start, format="json").json()["created"] == 1
    batch = [
        *_served_events(page, repeat, ("r-imp", "impression", -2, {}), ("r-buy", "purchase", -1, {"served": False})),
        *_served_events(page, newcomer, ("n-imp", "impression", -2, {}), ("n-buy", "purchase", -1, {"served": False})),
    ]
    assert storefront_a.post("/api/v1/events", batch, format="json").json()["created"] == 4

    # Conversion: x is 1 for the shopper who bought in the 28 days before the start, 0 for the other; both bought since.
    assert experiment_pre_sums(experiment=experiment)["b"] == (Decimal(1), Decimal(1), Decimal(1))
    visits = dict(ExperimentShopper.objects.filter(outcome=ExperimentShopper.Outcome.VISIT).values_list(
        "shopper__external_id", "pre_value"))
    assert visits == {repeat: Decimal(1), newcomer: Decimal(0)}
    before = _rollups(experiment), experiment_pre_sums(experiment=experiment)
    call_command("rollups_rebuild", "--shop", shop_a.slug)
    assert (_rollups(experiment), experiment_pre_sums(experiment=experiment)) == before

    assert storefront_a.delete(f"/api/v1/shoppers/{repeat}").status_code in (200, 204)
    assert experiment_pre_sums(experiment=experiment)["b"] == (Decimal(0), Decimal(0), Decimal(0))
