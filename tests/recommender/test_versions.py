"""Versions are numbered per family, a new one serves only when it beats the serving one by the margin, and a
run reports its real phases, evaluation included."""

import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from merchandising.models import AuditEntry
from recommender.models import Family, ModelVersion
from recommender.selectors import active_version
from recommender.services import model_version_train, training_versions_create
from recommender.services.registry import promotion_held_back
from recommender.services.training import PHASE_SHARES, seconds_left

pytestmark = pytest.mark.django_db

numbering = importlib.import_module("recommender.migrations.0006_modelversion_number_progress_phase_held_back")


def _ended(versions: list[ModelVersion]) -> None:
    ModelVersion.objects.filter(pk__in=[version.pk for version in versions]).update(status=ModelVersion.Status.FAILED)


def _succeeded(shop, family=Family.MF, *, ndcg: float, active: bool = False) -> ModelVersion:
    version, = training_versions_create(shop=shop, families=[family])
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.SUCCEEDED, is_active=active, metrics={"ndcg_10": ndcg})
    version.refresh_from_db()
    return version


def test_versions_are_numbered_one_two_three_per_shop_and_family(shop_a, shop_b):
    first = training_versions_create(shop=shop_a, families=[Family.MF, Family.POPULARITY])
    _ended(first)
    second = training_versions_create(shop=shop_a, families=[Family.MF, Family.POPULARITY])
    _ended(second)
    third_mf, = training_versions_create(shop=shop_a, families=[Family.MF])
    other_shop, = training_versions_create(shop=shop_b, families=[Family.MF])

    numbers = {(version.family, version.number) for version in [*first, *second, third_mf]}
    assert numbers == {(Family.POPULARITY, 1), (Family.MF, 1), (Family.POPULARITY, 2), (Family.MF, 2), (Family.MF, 3)}
    assert other_shop.number == 1
    assert str(third_mf) == "Matrix factorization v3 (queued)" and third_mf.label == "Matrix factorization v3"


def test_the_data_migration_numbers_existing_versions_per_family_in_the_order_they_were_queued(shop_a, shop_b):
    versions = [_succeeded(shop, family, ndcg=0.1) for shop, family in [(shop_a, Family.MF)] * 3 + [(shop_a, Family.TEXT), (shop_b, Family.MF)]]
    # Queued out of the order of their ids, and numbered wrong, as rows from before numbering might be.
    now = timezone.now()
    for offset, version in zip([2, 0, 1, 0, 0], versions):
        ModelVersion.objects.filter(pk=version.pk).update(created_at=now + timedelta(minutes=offset), number=100 + version.pk)

    numbering.number_versions_per_family(apps, None)

    assert [ModelVersion.objects.get(pk=version.pk).number for version in versions] == [3, 1, 2, 1, 1]


def test_the_first_version_of_a_family_serves_whatever_it_scores(shop_a):
    first = _succeeded(shop_a, ndcg=0.0)
    assert promotion_held_back(version=first) == ""


@pytest.mark.parametrize(
    ("ndcg", "held_back"),
    [
        (0.1, r"^As good as serving v1 \(NDCG@10 0\.1000 against 0\.1000\), not better by the 1 % margin: promote by hand$"),
        (0.1004, r"^Better than serving v1 by \+0\.4 % \(NDCG@10 0\.1004 against 0\.1000\) — below the 1 % margin: promote by hand$"),
        (0.09, r"^Worse than serving v1 by -10\.0 %"),
        (0.101, None),
        (0.102, None),
    ],
)
def test_a_new_version_serves_on_its_own_only_when_it_beats_the_serving_one_by_the_margin(shop_a, settings, ndcg, held_back):
    settings.VITRINE_PROMOTION_MARGIN = 0.01
    _succeeded(shop_a, ndcg=0.1, active=True)
    newer = _succeeded(shop_a, ndcg=ndcg)

    reason = promotion_held_back(version=newer)

    if held_back is None:
        assert reason == ""
    else:
        assert re.search(held_back, reason), reason


def test_the_margin_is_a_setting(shop_a, settings):
    _succeeded(shop_a, ndcg=0.1, active=True)
    newer = _succeeded(shop_a, ndcg=0.104)
    settings.VITRINE_PROMOTION_MARGIN = 0.05
    assert "below the 5 % margin" in promotion_held_back(version=newer)
    settings.VITRINE_PROMOTION_MARGIN = 0.0
    assert promotion_held_back(version=newer) == ""


def test_the_encoder_is_compared_on_its_cold_start_figure(shop_a):
    serving, = training_versions_create(shop=shop_a, families=[Family.FINETUNED_TEXT])
    cold = {"cold_start": {"fine_tuned": {"ndcg_10": 0.2}, "frozen": {"ndcg_10": 0.1}}}
    ModelVersion.objects.filter(pk=serving.pk).update(status=ModelVersion.Status.SUCCEEDED, is_active=True, metrics=cold)
    newer, = training_versions_create(shop=shop_a, families=[Family.FINETUNED_TEXT])
    ModelVersion.objects.filter(pk=newer.pk).update(status=ModelVersion.Status.SUCCEEDED, metrics=cold)
    newer.refresh_from_db()

    assert promotion_held_back(version=newer).startswith("As good as serving v1 (cold-start NDCG@10 0.2000")


def test_a_text_version_on_another_encoders_vectors_serves_without_comparison(shop_a):
    serving = _succeeded(shop_a, Family.TEXT, ndcg=0.1, active=True)
    ModelVersion.objects.filter(pk=serving.pk).update(hyperparameters={"encoder": "minilm"})
    newer = _succeeded(shop_a, Family.TEXT, ndcg=0.1)
    ModelVersion.objects.filter(pk=newer.pk).update(hyperparameters={"encoder": "finetuned_text#7"})
    newer.refresh_from_db()
    assert promotion_held_back(version=newer) == ""

    ModelVersion.objects.filter(pk=newer.pk).update(hyperparameters={"encoder": "minilm"})
    newer.refresh_from_db()
    assert promotion_held_back(version=newer).startswith("As good as serving v1")


def test_a_retrain_as_good_as_the_serving_version_waits_for_a_person_and_one_two_percent_better_serves(pattern_shop, train):
    first, = train(pattern_shop, Family.POPULARITY)
    assert first.is_active  # the first always serves

    same, = train(pattern_shop, Family.POPULARITY)

    same.refresh_from_db()
    assert same.status == ModelVersion.Status.SUCCEEDED and not same.is_active
    assert same.held_back.startswith("As good as serving v1") and "not serving" in same.progress_message
    assert active_version(shop=pattern_shop, family=Family.POPULARITY) == first

    # The serving version made 2 % worse than what the same data trains: the next run beats it by the margin.
    ModelVersion.objects.filter(pk=first.pk).update(metrics={**first.metrics, "ndcg_10": first.metrics["ndcg_10"] / 1.02})
    better, = train(pattern_shop, Family.POPULARITY)

    assert better.number == 3 and better.held_back == ""
    assert active_version(shop=pattern_shop, family=Family.POPULARITY) == better
    # Each promotion by training is in the shop's audit log, by no person, revertable as a console promotion is.
    promotions = AuditEntry.objects.filter(shop=pattern_shop, action="model_promote").order_by("pk")
    assert [(entry.user, entry.before, entry.after) for entry in promotions] == [
        (None, {"serving": None}, {"serving": first.pk}), (None, {"serving": first.pk}, {"serving": better.pk}),
    ]


def test_a_run_reports_each_phase_in_order_and_evaluation_reports_its_own_progress(pattern_shop, train):
    # `train` keeps the artifacts in the test's folder; the run is started here to watch it.
    reports: list[tuple[float, str]] = []
    version, = training_versions_create(shop=pattern_shop, families=[Family.POPULARITY])

    model_version_train(version=version, echo=lambda fraction, message: reports.append((fraction, message)))

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.SUCCEEDED, version.error
    assert (version.progress, version.progress_phase, version.progress_done_at) == (1.0, "", None)
    phases = [message for _, message in reports if ":" not in message]
    assert phases == ["loading events", "building data", "training", "evaluating", "saving", "publishing"]
    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions)
    evaluation_starts = sum(PHASE_SHARES[phase] for phase in list(PHASE_SHARES)[:3])
    evaluating = [(fraction, message) for fraction, message in reports if message.startswith("evaluating: ")]
    assert any("as new shoppers known by 2 events" in message for _, message in evaluating)
    inside = [fraction for fraction, _ in evaluating if evaluation_starts < fraction < evaluation_starts + PHASE_SHARES["evaluating"]]
    assert len(inside) >= 2  # not one jump to a fixed figure and a wait
    assert any(re.fullmatch(r"evaluating: ranked the catalog for (\d+) of \1 shoppers", message) for _, message in evaluating)


def test_a_time_bounded_sequential_run_says_how_far_it_is_on_the_clock(pattern_shop, train):
    messages: list[str] = []
    version, = training_versions_create(shop=pattern_shop, families=[Family.SEQUENTIAL], time_limit_s=3.0)

    model_version_train(version=version, echo=lambda fraction, message: messages.append(message))

    assert version.status == ModelVersion.Status.SUCCEEDED, version.error
    assert any(re.match(r"training: 0:0\d of 0:03, epoch \d+: loss ", message) for message in messages), messages[:20]


def test_the_time_left_is_the_rest_of_the_phase_at_its_pace_and_the_rest_of_the_run_at_the_runs():
    # 60 s in, half the bar: 2 min a bar. Training, half its 0.6 share done in 40 s: 40 s more; 0.2 after it: 24 s.
    left = seconds_left(elapsed_s=60, overall=0.5, phase_elapsed_s=40, phase_fraction=0.5, phase_share=0.6, later_share=0.2)
    assert left == pytest.approx(40 + 24)
    # A phase just begun: its rest at the run's pace.
    left = seconds_left(elapsed_s=60, overall=0.5, phase_elapsed_s=0.5, phase_fraction=0.0, phase_share=0.3, later_share=0.2)
    assert left == pytest.approx(120 * 0.3 + 120 * 0.2)
    assert seconds_left(elapsed_s=1, overall=0.5, phase_elapsed_s=1, phase_fraction=0.5, phase_share=0.3, later_share=0.2) is None
    assert seconds_left(elapsed_s=30, overall=0.01, phase_elapsed_s=30, phase_fraction=0.01, phase_share=0.3, later_share=0.2) is None
