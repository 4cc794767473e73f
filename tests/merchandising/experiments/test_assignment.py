"""Assignment: sticky and stateless, shares kept, slices of traffic apart; experiments' services around it."""

import json
import math
import os
import subprocess
import sys
from collections import Counter

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from catalog.models import Shopper
from homepage import cache
from merchandising.experiments.assignment import (
    TrafficSlice,
    assign,
    running_experiments,
    shopper_arm,
    traffic_offset_free,
)
from merchandising.experiments.models import Experiment, Variant
from merchandising.experiments.services import (
    experiment_create,
    experiment_ship,
    experiment_start,
    experiment_stop,
    variant_add,
)
from merchandising.models import AuditEntry

IDS = [f"shopper-{number}" for number in range(100_000)]


def _within_noise(count: int, total: int, share: float) -> bool:
    # Four standard deviations of a binomial count: a correct assignment fails this about once in 16,000 runs.
    return abs(count - total * share) <= 4 * math.sqrt(total * share * (1 - share))


def _assignments(slices, ids, shop_id=7):
    return [assign(shop_id=shop_id, shopper_external_id=external_id, slices=slices) for external_id in ids]


def test_a_shopper_gets_the_same_variant_on_every_call_and_in_another_process():
    slices = [TrafficSlice(experiment_id=3, offset=0.0, share=0.6, variant_shares=(0.5, 0.25, 0.25))]
    ids = IDS[:2000]
    here = _assignments(slices, ids)
    assert _assignments(slices, ids) == here
    script = (
        "import json, sys, django; django.setup();"
        "from merchandising.experiments.assignment import TrafficSlice, assign;"
        "slices = [TrafficSlice(experiment_id=3, offset=0.0, share=0.6, variant_shares=(0.5, 0.25, 0.25))];"
        "ids = json.load(sys.stdin);"
        "print(json.dumps([assign(shop_id=7, shopper_external_id=i, slices=slices) for i in ids]))"
    )
    # Another hash seed too: nothing may depend on Python's per-process string hashing.
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    done = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(ids), capture_output=True, text=True, check=True,
        cwd=settings.BASE_DIR, env=environment, timeout=120,
    )
    there = [tuple(found) if found else None for found in json.loads(done.stdout.strip().splitlines()[-1])]
    assert there == here


def test_variants_get_their_shares_within_binomial_noise():
    shares = (0.5, 0.3, 0.2)
    found = _assignments([TrafficSlice(experiment_id=1, offset=0.0, share=1.0, variant_shares=shares)], IDS)

    counts = Counter(index for _, index in found)
    assert all(_within_noise(counts[index], len(IDS), share) for index, share in enumerate(shares)), counts


def test_slices_of_traffic_get_their_shares_and_split_their_variants_like_the_whole():
    slices = [
        TrafficSlice(experiment_id=1, offset=0.0, share=0.2, variant_shares=(0.5, 0.5)),
        TrafficSlice(experiment_id=2, offset=0.5, share=0.3, variant_shares=(0.9, 0.1)),
    ]
    found = _assignments(slices, IDS)

    by_experiment = Counter(entry[0] if entry else None for entry in found)
    assert _within_noise(by_experiment[1], len(IDS), 0.2)
    assert _within_noise(by_experiment[2], len(IDS), 0.3)
    assert _within_noise(by_experiment[None], len(IDS), 0.5)
    # The variant's draw is not the slice's: a slice's shoppers split as its shares say.
    second = Counter(index for entry in found if entry and entry[0] == 2 for index in [entry[1]])
    assert _within_noise(second[1], by_experiment[2], 0.1), second


def test_the_same_shopper_lands_apart_in_different_shops():
    slices = [TrafficSlice(experiment_id=1, offset=0.0, share=1.0, variant_shares=(0.5, 0.5))]
    first, second = _assignments(slices, IDS[:1000], shop_id=1), _assignments(slices, IDS[:1000], shop_id=2)

    agreeing = sum(a == b for a, b in zip(first, second))
    assert _within_noise(agreeing, 1000, 0.5)


@pytest.mark.parametrize(
    ("taken", "share", "offset"),
    [
        ([], 1.0, 0.0),
        ([(0.0, 0.5)], 0.5, 0.5),
        ([(0.0, 0.2), (0.5, 0.5)], 0.3, 0.2),  # the gap a stopped experiment left
        ([(0.0, 0.2), (0.5, 0.5)], 0.4, None),  # enough in all, not in one piece
        ([(0.0, 0.7)], 0.4, None),
        ([(0.1, 0.3), (0.0, 0.1)], 0.6, 0.4),
    ],
)
def test_a_slice_takes_the_lowest_free_range_that_fits(taken, share, offset):
    found = traffic_offset_free(taken=taken, share=share)

    assert found == (pytest.approx(offset) if offset is not None else None)


# The experiments' services, on the real database and cache.


def _experiment(shop, actor=None, *, traffic_share=1.0, shares=(("control", "control", 0.5), ("holdout", "holdout", 0.5))):
    experiment = experiment_create(
        shop=shop, actor=actor, name="Personalization pays", primary_metric=Experiment.Metric.CLICK_THROUGH,
        traffic_share=traffic_share,
    )
    for key, kind, share in shares:
        variant_add(experiment=experiment, actor=actor, key=key, name=key.title(), share=share, kind=kind)
    return experiment


@pytest.mark.django_db
def test_starting_is_audit_logged_and_a_new_shopper_is_assigned_like_a_known_one(shop_a, merchandiser_a):
    experiment = _experiment(shop_a, merchandiser_a)

    experiment_start(experiment=experiment, actor=merchandiser_a)

    entry = AuditEntry.objects.get(shop=shop_a, action="experiment_start")
    assert entry.user == merchandiser_a and entry.object_id == experiment.pk
    assert entry.before["status"] == "draft" and entry.after["status"] == "running"
    assert entry.after["traffic_offset"] == 0.0
    arm = shopper_arm(shop=shop_a, shopper_external_id="never-seen-before")
    assert arm is not None and arm.experiment.pk == experiment.pk and arm.variant.key in {"control", "holdout"}
    assert not Shopper.objects.filter(shop=shop_a).exists()


@pytest.mark.django_db
def test_a_start_refuses_shares_that_do_not_sum_to_one_and_anything_but_one_control(shop_a):
    uneven = _experiment(shop_a, shares=(("control", "control", 0.5), ("b", "holdout", 0.4)))
    two_controls = _experiment(shop_a, shares=(("control", "control", 0.5), ("b", "control", 0.5)))

    with pytest.raises(ValidationError, match="sum to 100 %"):
        experiment_start(experiment=uneven, actor=None)
    with pytest.raises(ValidationError, match="exactly one control variant, not 2"):
        experiment_start(experiment=two_controls, actor=None)
    assert not Experiment.objects.filter(status=Experiment.Status.RUNNING).exists()
    assert not AuditEntry.objects.filter(action="experiment_start").exists()


@pytest.mark.django_db
def test_a_variant_names_what_its_kind_needs_and_only_before_the_start(shop_a):
    experiment = _experiment(shop_a)

    with pytest.raises(ValidationError, match="needs a draft"):
        variant_add(experiment=experiment, actor=None, key="c", name="C", share=0.1, kind=Variant.Kind.DRAFT)
    with pytest.raises(ValidationError, match="at most 1"):
        variant_add(experiment=experiment, actor=None, key="c", name="C", share=1.5, kind=Variant.Kind.HOLDOUT)
    experiment_start(experiment=experiment, actor=None)
    with pytest.raises(ValidationError, match="before the experiment starts"):
        variant_add(experiment=experiment, actor=None, key="c", name="C", share=0.1, kind=Variant.Kind.HOLDOUT)


@pytest.mark.django_db
def test_running_experiments_never_claim_more_than_the_whole_traffic(shop_a):
    experiment_start(experiment=_experiment(shop_a, traffic_share=0.6), actor=None)
    too_much = _experiment(shop_a, traffic_share=0.5)

    with pytest.raises(ValidationError, match="leave 40% free"):
        experiment_start(experiment=too_much, actor=None)
    experiment_start(experiment=_experiment(shop_a, traffic_share=0.4), actor=None)
    slices = running_experiments(shop=shop_a).slices
    assert sorted((s.offset, s.share) for s in slices) == [(0.0, 0.6), (pytest.approx(0.6), 0.4)]


@pytest.mark.django_db
def test_another_experiment_stopping_moves_no_shopper_and_its_traffic_goes_to_the_next(shop_a):
    first = _experiment(shop_a, traffic_share=0.5)
    second = _experiment(shop_a, traffic_share=0.5)
    experiment_start(experiment=first, actor=None)
    experiment_start(experiment=second, actor=None)
    ids = IDS[:3000]

    def placed(experiment):
        arms = {external_id: shopper_arm(shop=shop_a, shopper_external_id=external_id) for external_id in ids}
        return {external_id: arm.variant.key for external_id, arm in arms.items() if arm and arm.experiment.pk == experiment.pk}

    first_before, second_before = placed(first), placed(second)
    token = cache.rules_token(shop=shop_a)
    experiment_stop(experiment=first, actor=None)

    assert cache.rules_token(shop=shop_a) != token  # every process reads the running experiments again
    assert placed(second) == second_before
    assert first_before and not placed(first)
    assert all(shopper_arm(shop=shop_a, shopper_external_id=external_id) is None for external_id in first_before)
    third = _experiment(shop_a, traffic_share=0.5)
    experiment_start(experiment=third, actor=None)
    assert Experiment.objects.get(pk=third.pk).traffic_offset == Experiment.objects.get(pk=first.pk).traffic_offset


@pytest.mark.django_db
def test_shipping_a_holdout_turns_nothing_on_and_ends_the_experiment(shop_a, merchandiser_a):
    experiment = _experiment(shop_a)
    experiment_start(experiment=experiment, actor=merchandiser_a)

    experiment_ship(experiment=experiment, actor=merchandiser_a, variant=experiment.variants.get(key="holdout"))

    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.SHIPPED and experiment.shipped_variant.key == "holdout"
    assert experiment.ended_at is not None
    assert shopper_arm(shop=shop_a, shopper_external_id="anyone") is None
    assert AuditEntry.objects.get(action="experiment_ship").after["shipped_variant"] == experiment.shipped_variant.pk
