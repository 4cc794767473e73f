"""Bandit mode: traffic moves toward the better variant once each has enough trials, every variant keeps its
floor, pages follow the new shares at once, and events stay counted under the shares of their time."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import ExperimentShopper
from config.celery import app
from config.queues import Queue
from merchandising.experiments.assignment import TrafficSlice, assign, shopper_arm
from merchandising.experiments.models import Allocation, Experiment, Variant
from merchandising.experiments.report import experiment_report
from merchandising.experiments.rollups import experiment_variant_totals, rollups_rebuild
from merchandising.experiments.services import (
    experiment_create,
    experiment_start,
    variant_add,
)
from merchandising.services import default_rails_ensure
from merchandising.tasks import bandits_reallocate_task
from tests.experiments import experiment_outcomes
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def _started(shop, *, bandit=True, metric=Experiment.Metric.CONVERSION) -> Experiment:
    default_rails_ensure(shop=shop)
    experiment = experiment_create(shop=shop, actor=None, name="Bandit", primary_metric=metric, bandit=bandit)
    for key, kind in (("control", Variant.Kind.CONTROL), ("b", Variant.Kind.HOLDOUT)):
        variant_add(experiment=experiment, actor=None, key=key, name=key, share=0.5, kind=kind)
    return experiment_start(experiment=experiment, actor=None)


def _share_served(shop, variant_key: str, ids: int = 4000) -> float:
    return sum(
        shopper_arm(shop=shop, shopper_external_id=f"new-{number}").variant.key == variant_key for number in range(ids)
    ) / ids


def _reallocated(shop, *, control: tuple[int, int], b: tuple[int, int], bandit: bool = True) -> Experiment:
    """A started experiment whose variants had (visitors, purchasers) each, after the hourly reallocation ran."""
    experiment = _started(shop, bandit=bandit)
    for key, (visitors, purchasers) in (("control", control), ("b", b)):
        experiment_outcomes(experiment, key, visitors=visitors, purchasers=purchasers, pages=visitors, clicks=0)
    bandits_reallocate_task()
    return experiment


def _latest_shares(experiment) -> dict[str, float]:
    return experiment.allocations.order_by("-since").first().shares


def test_the_hourly_run_moves_traffic_toward_the_better_variant_and_pages_follow(shop_a):
    experiment = _started(shop_a)
    assert _latest_shares(experiment) == {"control": 0.5, "b": 0.5}  # what was set, recorded at the start
    experiment_outcomes(experiment, "control", visitors=400, purchasers=20, pages=400, clicks=0)
    experiment_outcomes(experiment, "b", visitors=400, purchasers=60, pages=400, clicks=0)

    bandits_reallocate_task()

    shares = _latest_shares(experiment)
    assert shares["b"] > 0.9 and shares["control"] >= 0.05
    assert sum(shares.values()) == pytest.approx(1.0)
    # 4,000 new shoppers: the served share is within five standard errors of the new one.
    assert _share_served(shop_a, "b") == pytest.approx(shares["b"], abs=5 * (shares["b"] * (1 - shares["b"]) / 4000) ** 0.5)


def test_the_worse_variant_keeps_the_floor_share(shop_a, settings):
    settings.VITRINE_BANDIT_FLOOR = 0.1

    experiment = _reallocated(shop_a, control=(1000, 0), b=(1000, 300))

    assert _latest_shares(experiment) == pytest.approx({"control": 0.1, "b": 0.9})


def test_shares_stay_as_set_until_every_variant_has_enough_trials(shop_a, settings):
    settings.VITRINE_BANDIT_MIN_TRIALS = 100

    experiment = _reallocated(shop_a, control=(400, 4), b=(99, 40))

    assert experiment.allocations.count() == 1
    assert _share_served(shop_a, "b", ids=2000) == pytest.approx(0.5, abs=0.06)


def test_an_experiment_without_bandit_mode_keeps_its_shares(shop_a):
    experiment = _reallocated(shop_a, control=(400, 4), b=(400, 80), bandit=False)

    assert experiment.allocations.count() == 1


def test_bandit_mode_is_refused_for_revenue_per_visitor_with_a_reason(shop_a):
    with pytest.raises(ValidationError) as refused:
        experiment_create(shop=shop_a, actor=None, name="RPV", primary_metric=Experiment.Metric.REVENUE_PER_VISITOR, bandit=True)
    assert "Bandit mode follows a rate" in refused.value.message_dict["bandit"][0]


def test_events_stay_counted_under_the_shares_of_their_time_through_a_recount(shop_a, storefront_a):
    ItemFactory.create_batch(12, shop=shop_a)
    experiment = _started(shop_a)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(days=2))
    experiment.allocations.update(since=timezone.now() - timedelta(days=2))
    # A shopper of control under the even split whom the bandit's new shares place in b.
    moved_shares = {"control": 0.05, "b": 0.95}
    shopper = next(
        external_id for external_id in (f"shopper-{number}" for number in range(1000))
        if shopper_arm(shop=shop_a, shopper_external_id=external_id).variant.key == "control"
        and _arm_under(shop_a, experiment, external_id, moved_shares) == "b"
    )
    page = storefront_a.get(f"/api/v1/homepage/{shopper}").json()
    rail = page["rails"][0]
    before = {"event_id": "before", "shopper_id": shopper, "item_id": rail["items"][0]["item_id"], "type": "click",
              "context": {"request_id": page["request_id"], "rail": rail["key"], "slot": 0},
              "occurred_at": (timezone.now() - timedelta(hours=3)).isoformat()}
    assert storefront_a.post("/api/v1/events", [before], format="json").json()["created"] == 1
    Allocation.objects.create(experiment=experiment, since=timezone.now() - timedelta(hours=1), shares=moved_shares)

    rollups_rebuild(shop=shop_a)

    visits = ExperimentShopper.objects.filter(experiment_id=experiment.pk, outcome=ExperimentShopper.Outcome.VISIT)
    assert list(visits.values_list("variant", flat=True)) == ["control"]
    assert [totals.clicks for totals in experiment_variant_totals(experiment=experiment)] == [1, 0]


def _arm_under(shop, experiment, external_id: str, shares: dict[str, float]) -> str:
    keys = list(experiment.variants.order_by("pk").values_list("key", flat=True))
    slices = [TrafficSlice(experiment_id=experiment.pk, offset=experiment.traffic_offset, share=experiment.traffic_share,
                           variant_shares=tuple(shares[key] for key in keys))]
    return keys[assign(shop_id=shop.pk, shopper_external_id=external_id, slices=slices)[1]]


def test_the_report_of_a_bandit_experiment_skips_the_sample_ratio_check_and_shows_the_shares_now(shop_a):
    experiment = _reallocated(shop_a, control=(300, 3), b=(700, 70))

    report = experiment_report(experiment=experiment)

    assert report.ratio is None
    shares = _latest_shares(experiment)
    assert shares["b"] > 0.5  # moved, so that the shares now differ from those set
    assert [row.share_now for row in report.rows] == pytest.approx([shares["control"], shares["b"]])



def test_the_reallocation_runs_hourly_on_the_default_queue_and_expires_before_the_next():
    entry = app.conf.beat_schedule["reallocate-bandit-experiments"]
    assert entry["task"] == bandits_reallocate_task.name and entry["task"] in app.tasks
    assert len(entry["schedule"].minute) == 1 and entry["schedule"].hour == set(range(24))
    assert entry["options"]["expires"] < 3600
    assert app.amqp.router.route({}, entry["task"])["queue"].name == Queue.DEFAULT
