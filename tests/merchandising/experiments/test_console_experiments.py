"""The Experiments pages: a draft or a model version tested against the live page, from "Test this …" to the
results read from the rollups and "Ship"."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from merchandising.experiments.models import Experiment, Variant
from merchandising.experiments.report import experiment_report
from merchandising.experiments.stats import cuped_adjust, welch_comparison
from merchandising.models import AuditEntry, Draft, Rail
from merchandising.services import default_rails_ensure, draft_open, rules_change
from recommender.models import Family, ModelVersion
from tests.experiments import experiment_outcomes

pytestmark = pytest.mark.django_db

@pytest.fixture
def alice(client, merchandiser_a):
    client.force_login(merchandiser_a)
    return client


@pytest.fixture
def draft(shop_a, merchandiser_a) -> Draft:
    rail = default_rails_ensure(shop=shop_a)[0]
    draft = draft_open(shop=shop_a, author=merchandiser_a)
    rules_change(shop=shop_a, actor=merchandiser_a, operation="rail_update", summary="Retitle", rail=rail, title="Just for you")
    return draft


def _create(alice, challenger: str, **fields) -> Experiment:
    data = {"name": "New title", "challenger": challenger, "primary_metric": "conversion", "traffic_percent": 100,
            "challenger_percent": 50, **fields}
    response = alice.post("/console/experiments/", data)
    experiment = Experiment.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/console/experiments/{experiment.pk}/"
    return experiment


def test_a_draft_is_tested_started_judged_and_shipped_from_the_console(alice, shop_a, draft):
    bar = alice.get("/console/rails/").content.decode()
    assert f'href="/console/experiments/?draft={draft.pk}#new-experiment">Test this draft' in bar
    form = alice.get(f"/console/experiments/?draft={draft.pk}").content.decode()
    assert f'<option value="draft:{draft.pk}" selected>' in form

    experiment = _create(alice, f"draft:{draft.pk}")
    control, b = experiment.variants.order_by("pk")
    assert (control.kind, control.share, b.kind, b.draft, b.share) == (Variant.Kind.CONTROL, 0.5, Variant.Kind.DRAFT, draft, 0.5)
    assert 'data-testid="experiment-estimate"' in alice.get(f"/console/experiments/{experiment.pk}/").content.decode()

    alice.post(f"/console/experiments/{experiment.pk}/start/")
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING
    experiment_outcomes(experiment, "control", visitors=400, purchasers=20, pages=800, clicks=40)
    experiment_outcomes(experiment, "b", visitors=400, purchasers=48, pages=800, clicks=90)

    page = alice.get(f"/console/experiments/{experiment.pk}/").content.decode()
    decision = page.split('data-testid="decision-b"')[1].split("</p>")[0]
    assert "likely better than control on conversion rate" in decision and "ready to ship at 95 %" in decision
    assert "12.0 %" in page and "5.0 %" in page  # each variant's conversion
    assert "Traffic split as planned" in page

    alice.post(f"/console/experiments/{experiment.pk}/ship/", {"variant": b.pk})
    experiment.refresh_from_db()
    draft.refresh_from_db()
    assert experiment.status == Experiment.Status.SHIPPED and experiment.shipped_variant == b
    assert draft.published_at is not None and Rail.objects.get(shop=shop_a, title="Just for you")
    assert AuditEntry.objects.filter(shop=shop_a, action="experiment_ship").exists()


def test_a_lopsided_split_is_flagged_loudly(alice, shop_a, draft):
    experiment = _create(alice, "holdout")
    alice.post(f"/console/experiments/{experiment.pk}/start/")
    experiment_outcomes(experiment, "control", visitors=200, purchasers=10, pages=200, clicks=10)
    experiment_outcomes(experiment, "b", visitors=300, purchasers=15, pages=300, clicks=15)

    page = alice.get(f"/console/experiments/{experiment.pk}/").content.decode()
    assert 'role="alert" data-testid="experiment-srm">Traffic split looks wrong' in page


def test_a_model_version_is_tested_from_its_page(alice, shop_a):
    ModelVersion.objects.create(shop=shop_a, family=Family.MF, number=1, status=ModelVersion.Status.SUCCEEDED, is_active=True)
    waiting = ModelVersion.objects.create(shop=shop_a, family=Family.MF, number=2, status=ModelVersion.Status.SUCCEEDED)
    page = alice.get(f"/console/models/versions/{waiting.pk}/").content.decode()
    assert f'href="/console/experiments/?version={waiting.pk}#new-experiment">Test this version' in page

    experiment = _create(alice, f"version:{waiting.pk}", challenger_percent=20)
    b = experiment.variants.get(key="b")
    assert (b.kind, b.model_version, b.share, b.name) == (Variant.Kind.MODEL_VERSION, waiting, 0.2, "B: Matrix factorization v2")


def test_the_form_says_what_is_wrong_and_creates_nothing(alice, shop_a):
    response = alice.post("/console/experiments/", {
        "name": "", "challenger": "draft:999", "primary_metric": "conversion", "traffic_percent": 0, "challenger_percent": 100,
    })
    page = response.content.decode()
    assert response.status_code == 400 and not Experiment.objects.exists()
    assert "Select a valid choice" in page and "greater than or equal to 1" in page and "less than or equal to 99" in page


def test_starting_without_room_says_why(alice, shop_a, draft):
    first, second = _create(alice, "holdout"), _create(alice, f"draft:{draft.pk}")
    alice.post(f"/console/experiments/{first.pk}/start/")
    page = alice.post(f"/console/experiments/{second.pk}/start/", follow=True).content.decode()
    assert "the running experiments leave 0% free" in page
    second.refresh_from_db()
    assert second.status == Experiment.Status.DRAFT


def test_bandit_mode_is_set_from_the_form_and_refused_for_revenue_per_visitor(alice, shop_a):
    refused = alice.post("/console/experiments/", {
        "name": "Bandit", "challenger": "holdout", "primary_metric": "revenue_per_visitor", "traffic_percent": 100,
        "challenger_percent": 50, "bandit": "on",
    })
    assert refused.status_code == 400 and not Experiment.objects.exists()
    assert "Bandit mode follows a rate" in refused.content.decode()

    experiment = _create(alice, "holdout", bandit="on")

    assert experiment.bandit
    alice.post(f"/console/experiments/{experiment.pk}/start/")
    page = alice.get(f"/console/experiments/{experiment.pk}/").content.decode()
    assert "Bandit: moves toward the better variant every hour" in page and "No sample ratio check" in page


def test_the_results_page_charts_the_cumulative_lift_and_breaks_click_through_down_by_rail(alice, shop_a):
    rails = {rail.key: rail for rail in default_rails_ensure(shop=shop_a)}
    experiment = _create(alice, "holdout")
    alice.post(f"/console/experiments/{experiment.pk}/start/")
    yesterday, today = date.today() - timedelta(days=1), date.today()
    experiment_outcomes(experiment, "control", visitors=200, purchasers=10, pages=200, clicks=0, day=yesterday)
    experiment_outcomes(experiment, "b", visitors=200, purchasers=20, pages=200, clicks=0, day=yesterday)
    experiment_outcomes(experiment, "control", visitors=200, purchasers=10, pages=200, clicks=0, day=today,
                        rails={"for-you": (100, 10)})
    experiment_outcomes(experiment, "b", visitors=200, purchasers=30, pages=200, clicks=0, day=today,
                        rails={"for-you": (100, 15)})

    report = experiment_report(experiment=experiment)

    assert [day.day for day in report.lift_days] == [yesterday, today]
    first, cumulative = (day.lifts[0].estimate for day in report.lift_days)
    assert first == pytest.approx((21 / 202) / (11 / 202) - 1)  # Beta(1, 1) posterior means
    assert cumulative == pytest.approx((51 / 402) / (21 / 402) - 1)
    assert all(day.lifts[0].low < day.lifts[0].estimate < day.lifts[0].high for day in report.lift_days)
    assert [row.totals.visitors for row in report.rows] == [400, 400]
    rail, = report.rails
    assert (rail.rail, rail.title) == ("for-you", rails["for-you"].title)
    assert [cell.totals.click_through for cell in rail.cells] == [0.1, 0.15]
    assert [cell.change for cell in rail.cells] == [None, pytest.approx(0.5)]

    page = alice.get(f"/console/experiments/{experiment.pk}/").content.decode()
    chart = page.split('data-testid="lift-chart"')[1].split("</figure>")[0]
    assert 'class="band series-lift-1"' in chart and chart.count('class="point series-lift-1"') == 2
    assert "Lift over control on conversion rate" in chart
    by_rail = page.split('data-testid="experiment-rails"')[1].split("</table>")[0]
    assert rails["for-you"].title in by_rail and "15.0 %" in by_rail and "+50.0 %" in by_rail


def test_revenue_per_visitor_is_judged_from_the_purchasers_revenue_as_welch_would_from_every_visitor(alice, shop_a):
    experiment = _create(alice, "holdout", primary_metric="revenue_per_visitor")
    alice.post(f"/console/experiments/{experiment.pk}/start/")
    rng = np.random.default_rng(4)
    spent = {key: [Decimal(f"{value:.2f}") for value in rng.lognormal(3.0, 0.7, size=count)]
             for key, count in (("control", 30), ("b", 45))}
    for key, revenues in spent.items():
        experiment_outcomes(experiment, key, visitors=500, purchasers=len(revenues), pages=600, clicks=0, revenues=revenues)

    report = experiment_report(experiment=experiment)
    judgement = report.rows[1].judgement
    total_b = sum(spent["b"], Decimal(0))
    assert report.rows[1].revenue_per_visitor == (total_b / 500).quantize(Decimal("0.01"))
    assert report.rows[1].average_order_value == (total_b / 45).quantize(Decimal("0.01"))
    assert judgement.cuped is None  # nobody bought before the start: nothing for CUPED to adjust by

    every_visitor = {key: np.array([float(value) for value in revenues] + [0.0] * (500 - len(revenues)))
                     for key, revenues in spent.items()}
    reference = welch_comparison(every_visitor["control"], every_visitor["b"])
    assert judgement.probability == pytest.approx(reference.probability_to_beat)
    assert (judgement.lift.low, judgement.lift.high) == pytest.approx((reference.lift.low, reference.lift.high))
    page = alice.get(f"/console/experiments/{experiment.pk}/").content.decode()
    assert "likely better than control on revenue per visitor" in page
    assert "not enough revenue" not in page


def test_revenue_per_visitor_waits_for_revenue_in_every_variant(alice, shop_a):
    experiment = _create(alice, "holdout", primary_metric="revenue_per_visitor")
    alice.post(f"/console/experiments/{experiment.pk}/start/")
    experiment_outcomes(experiment, "control", visitors=50, purchasers=0, pages=50, clicks=0)
    experiment_outcomes(experiment, "b", visitors=50, purchasers=2, pages=50, clicks=0, revenues=[Decimal(10), Decimal(20)])

    assert experiment_report(experiment=experiment).rows[1].judgement is None
    assert "not enough revenue in every variant" in alice.get(f"/console/experiments/{experiment.pk}/").content.decode()


def test_the_preview_shows_any_variant_of_a_running_experiment_and_says_when_it_stopped(alice, pattern_shop):
    experiment = _create(alice, "holdout")
    alice.post(f"/console/experiments/{experiment.pk}/start/")
    holdout = experiment.variants.get(key="b")
    shopper = pattern_shop.shoppers.first().external_id

    live = alice.get(f"/console/preview/?shopper={shopper}").content.decode()
    held_out = alice.get(f"/console/preview/?shopper={shopper}&variant={holdout.pk}").content.decode()

    assert f'<option value="{holdout.pk}">New title: {holdout.name}</option>' in live
    assert "Popular right now" not in live.split('id="preview-live"')[1]
    column = held_out.split('id="preview-live"')[1]
    assert f"As {holdout.name} of “New title” serves it" in column and "Popular right now" in column

    alice.post(f"/console/experiments/{experiment.pk}/stop/")
    stopped = alice.get(f"/console/preview/?shopper={shopper}&variant={holdout.pk}").content.decode()
    assert "This experiment is no longer running: choose the live page or another variant." in stopped


def test_conversion_is_also_judged_with_cuped_on_the_shoppers_purchases_before_the_start(alice, shop_a):
    experiment = _create(alice, "holdout")
    alice.post(f"/console/experiments/{experiment.pk}/start/")
    for key, purchasers in (("control", 40), ("b", 55)):
        experiment_outcomes(experiment, key, visitors=500, purchasers=purchasers, pages=500, clicks=0, bought_before=60)

    cuped = experiment_report(experiment=experiment).rows[1].judgement.cuped

    # The same visitors as arrays: the first 60 bought before, the first `purchasers` bought since.
    arrays = {key: (np.arange(500) < purchasers).astype(float) for key, purchasers in (("control", 40), ("b", 55))}
    before = {key: (np.arange(500) < 60).astype(float) for key in arrays}
    reference = cuped_adjust(metric=arrays, covariate=before)
    assert cuped.variance_reduction == pytest.approx(reference.variance_reduction, rel=1e-6) and cuped.variance_reduction > 0.3
    expected = welch_comparison(reference.adjusted["control"], reference.adjusted["b"])
    assert cuped.probability == pytest.approx(expected.probability_to_beat)
    page = alice.get(f"/console/experiments/{experiment.pk}/").content.decode()
    assert "With CUPED (adjusted by each shopper's conversion rate in the 28 days before the start" in page
