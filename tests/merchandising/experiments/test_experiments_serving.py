"""Pages served by variant, through the storefront API: the holdout unpersonalized, a draft's rules, another
model version; each variant's pages cached apart; the experiment and variant named in every response."""

import pytest
from django.utils import timezone

from catalog.models import Shopper
from homepage.services.context import experiment_arm_served, page_context_build
from merchandising.experiments.assignment import shopper_arm
from merchandising.experiments.models import Experiment, Variant
from merchandising.experiments.services import (
    experiment_create,
    experiment_ship,
    experiment_start,
    experiment_stop,
    variant_add,
)
from merchandising.models import Rail
from merchandising.services import default_rails_ensure, draft_open, rules_change
from recommender.models import Family, ModelVersion
from recommender.services import version_promote

pytestmark = pytest.mark.django_db


def _experiment(shop, actor=None, **variants):
    """A running experiment on all the traffic, control at half and `variants` (key to kind and target) sharing the rest.

    The shop's default rails are made first: making them changes the rules, which would leave nothing cached."""
    default_rails_ensure(shop=shop)
    experiment = experiment_create(shop=shop, actor=actor, name="Test", primary_metric=Experiment.Metric.CONVERSION)
    variant_add(experiment=experiment, actor=actor, key="control", name="Control", share=0.5, kind=Variant.Kind.CONTROL)
    for key, (kind, target) in variants.items():
        variant_add(experiment=experiment, actor=actor, key=key, name=key, share=0.5 / len(variants), kind=kind, **target)
    return experiment_start(experiment=experiment, actor=actor)


def _external_id(shop, variant_key, *, known=True):
    """A shopper id the running experiment serves `variant_key`: a known shopper's, or one never seen."""
    candidates = Shopper.objects.filter(shop=shop).values_list("external_id", flat=True) if known else (
        f"new-{number}" for number in range(1000)
    )
    return next(external_id for external_id in candidates
                if shopper_arm(shop=shop, shopper_external_id=external_id).variant.key == variant_key)


def _page(client, external_id, path="homepage"):
    response = client.get(f"/api/v1/{path}/{external_id}")
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_holdout_shopper_gets_the_unpersonalized_page_and_both_fields_until_the_experiment_stops(pattern_shop, storefront_a):
    experiment = _experiment(pattern_shop, holdout=(Variant.Kind.HOLDOUT, {}))
    held_out, control = _external_id(pattern_shop, "holdout"), _external_id(pattern_shop, "control")

    page = _page(storefront_a, held_out)

    assert list(page)[:4] == ["request_id", "generated_at", "experiment", "variant"]
    assert (page["experiment"], page["variant"]) == (experiment.pk, "holdout")
    assert page["shopper"] == {"known": True, "personalized": False}
    assert page["rails"][0]["title"] == "Popular right now"
    assert _page(storefront_a, held_out)["variant"] == "holdout"  # from the cache, still named
    controlled = _page(storefront_a, control)
    assert (controlled["variant"], controlled["shopper"]["personalized"]) == ("control", True)
    recommendations = _page(storefront_a, held_out, "recommendations")
    assert (recommendations["experiment"], recommendations["variant"]) == (experiment.pk, "holdout")
    assert recommendations["shopper"]["personalized"] is False

    experiment_stop(experiment=experiment, actor=None)

    after = _page(storefront_a, held_out)
    assert (after["experiment"], after["variant"]) == (None, None)
    assert after["shopper"] == {"known": True, "personalized": True}
    assert _page(storefront_a, held_out, "recommendations")["variant"] is None


def test_new_shoppers_are_assigned_and_share_a_cached_page_only_within_their_variant(pattern_shop, storefront_a):
    _experiment(pattern_shop, holdout=(Variant.Kind.HOLDOUT, {}))
    new_held_out = _external_id(pattern_shop, "holdout", known=False)
    new_control = _external_id(pattern_shop, "control", known=False)

    assert _page(storefront_a, new_held_out)["variant"] == "holdout"  # caches the unknown shoppers' page of its variant

    page = _page(storefront_a, new_control)
    assert page["variant"] == "control"
    assert page["shopper"] == {"known": False, "personalized": False}
    assert not Shopper.objects.filter(shop=pattern_shop, external_id__in=[new_held_out, new_control]).exists()


def test_a_draft_variant_serves_the_drafts_rules_and_its_later_edits(pattern_shop, storefront_a, merchandiser_a):
    rails = {rail.key: rail for rail in default_rails_ensure(shop=pattern_shop)}
    draft = draft_open(shop=pattern_shop, author=merchandiser_a)
    rules_change(shop=pattern_shop, actor=merchandiser_a, operation="rail_update", summary="Retitle",
                 rail=rails["trending"], title="Hot this week")
    experiment = _experiment(pattern_shop, b=(Variant.Kind.DRAFT, {"draft": draft}))
    in_b, in_control = _external_id(pattern_shop, "b", known=False), _external_id(pattern_shop, "control", known=False)

    def titles(external_id):
        return {rail["key"]: rail["title"] for rail in _page(storefront_a, external_id)["rails"]}

    assert titles(in_b)["trending"] == "Hot this week"
    assert titles(in_control)["trending"] == "Trending now"
    assert Rail.objects.get(pk=rails["trending"].pk).title == "Trending now"

    rules_change(shop=pattern_shop, actor=merchandiser_a, operation="rail_update", summary="Retitle again",
                 rail=rails["trending"], title="Hot today")

    assert titles(in_b)["trending"] == "Hot today"

    experiment_ship(experiment=experiment, actor=merchandiser_a, variant=experiment.variants.get(key="b"))

    assert Rail.objects.get(pk=rails["trending"].pk).title == "Hot today"
    page = _page(storefront_a, in_control)
    assert page["variant"] is None and {rail["key"]: rail["title"] for rail in page["rails"]}["trending"] == "Hot today"


def test_a_model_version_variant_serves_that_version_in_place_of_its_familys(pattern_shop, storefront_a, train):
    older, newer = train(pattern_shop, Family.MF)[0], train(pattern_shop, Family.MF)[0]
    version_promote(version=newer)  # a retrain as good as the serving version would wait for a person
    experiment = _experiment(pattern_shop, b=(Variant.Kind.MODEL_VERSION, {"model_version": older}))
    in_b, in_control = _external_id(pattern_shop, "b"), _external_id(pattern_shop, "control")

    def served_version(external_id):
        shopper = Shopper.objects.get(shop=pattern_shop, external_id=external_id)
        with experiment_arm_served(shopper_arm(shop=pattern_shop, shopper_external_id=external_id)):
            context = page_context_build(shop=pattern_shop, shopper=shopper, now=timezone.now(), exclude=set())
        return context.versions[Family.MF].pk

    assert (served_version(in_b), served_version(in_control)) == (older.pk, newer.pk)
    page = _page(storefront_a, in_b)
    assert (page["variant"], page["shopper"]["personalized"]) == ("b", True)
    assert page["rails"]

    experiment_ship(experiment=experiment, actor=None, variant=experiment.variants.get(key="b"))

    assert ModelVersion.objects.get(pk=older.pk).is_active
    assert not ModelVersion.objects.get(pk=newer.pk).is_active
