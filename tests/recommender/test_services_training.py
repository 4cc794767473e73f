from pathlib import Path

import pytest

from catalog.models import Event
from recommender.models import Family, ModelVersion
from recommender.selectors import active_version
from recommender.services import training_versions_create, version_promote, version_rollback
from recommender.services.registry import VersionNotServable

pytestmark = pytest.mark.django_db


def test_every_family_trains_evaluates_and_serves(pattern_shop, train):
    versions = train(pattern_shop)

    assert [version.family for version in versions] == [
        Family.POPULARITY, Family.MF, Family.FINETUNED_TEXT, Family.TEXT, Family.SEQUENTIAL
    ]
    for version in versions:
        version.refresh_from_db()
        assert version.status == ModelVersion.Status.SUCCEEDED, version.error
        # A fine-tuned encoder serves on its own only when it ranks held-out items as well as MiniLM.
        assert version.is_active or (version.family == Family.FINETUNED_TEXT and "not serving" in version.progress_message)
        assert version.device == "cpu"
        assert version.counts == {"shoppers": 42, "items": 18, "events": 210}
        assert 0.0 <= version.metrics["ndcg_10"] <= 1.0
        assert (Path(version.artifact_path) / "model").is_dir()
    sequential = versions[-1]
    assert "Bounded CPU run" in sequential.budget_note
    assert set(sequential.metrics["new_shoppers"]) == {"1_event", "2_events"}
    assert sequential.metrics["hr_10"] > versions[0].metrics["hr_10"]


def test_promote_and_rollback_switch_the_serving_version_at_once(pattern_shop, train):
    first, = train(pattern_shop, Family.POPULARITY)
    second, = train(pattern_shop, Family.POPULARITY)  # as good as the first: it waits for a person
    version_promote(version=second)
    assert active_version(shop=pattern_shop, family=Family.POPULARITY) == second

    version_rollback(shop=pattern_shop, family=Family.POPULARITY)
    assert active_version(shop=pattern_shop, family=Family.POPULARITY) == first

    version_promote(version=second)
    assert active_version(shop=pattern_shop, family=Family.POPULARITY) == second
    assert ModelVersion.objects.filter(shop=pattern_shop, family=Family.POPULARITY, is_active=True).count() == 1


def test_rollback_without_an_earlier_version_is_refused(pattern_shop, train):
    train(pattern_shop, Family.POPULARITY)
    with pytest.raises(VersionNotServable):
        version_rollback(shop=pattern_shop, family=Family.POPULARITY)


def test_a_failed_run_leaves_the_active_version_serving(pattern_shop, train):
    serving, = train(pattern_shop, Family.POPULARITY)
    Event.objects.filter(shop=pattern_shop).delete()

    failed, = train(pattern_shop, Family.POPULARITY)

    assert failed.status == ModelVersion.Status.FAILED
    assert "no events" in failed.error
    assert active_version(shop=pattern_shop, family=Family.POPULARITY) == serving


def test_an_unknown_family_is_refused_with_the_choices(pattern_shop):
    from recommender.services.training import TrainingError

    with pytest.raises(TrainingError, match="expected popularity, mf, text, sequential, finetuned_text"):
        training_versions_create(shop=pattern_shop, families=["deep-magic"])


def test_the_schedule_trains_every_family_but_the_encoder_which_is_asked_for_by_name(pattern_shop):
    from recommender.services import training_dispatch

    scheduled = training_dispatch(shop=pattern_shop)
    asked, = training_dispatch(shop=pattern_shop, families=[Family.FINETUNED_TEXT])

    assert [version.family for version in scheduled] == [Family.POPULARITY, Family.MF, Family.TEXT, Family.SEQUENTIAL]
    assert asked.family == Family.FINETUNED_TEXT and asked.status == ModelVersion.Status.QUEUED
