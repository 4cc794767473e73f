import pytest
from playwright.sync_api import expect

from merchandising.experiments.models import Experiment
from merchandising.models import Rail
from merchandising.services import default_rails_ensure
from tests.experiments import experiment_outcomes

pytestmark = pytest.mark.browser


def test_a_draft_is_tested_started_and_shipped_from_the_console(console, pattern_shop):
    default_rails_ensure(shop=pattern_shop)
    console.goto("/console/rails/")
    console.get_by_role("button", name="Start a draft").click()
    trending = console.get_by_test_id("rail-trending")
    trending.get_by_label("Title").fill("Hot this week")
    trending.get_by_role("button", name="Save", exact=True).click()
    expect(console.locator("#draft-bar")).to_contain_text("1 change not live yet")

    console.get_by_role("link", name="Test this draft").click()
    form = console.get_by_test_id("experiment-form")
    form.get_by_label("Name").fill("Hot title")
    form.get_by_label("Shown the variant (%)").fill("30")
    form.get_by_role("button", name="Create the experiment").click()
    expect(console.get_by_test_id("experiment-status")).to_have_text("draft")
    expect(console.get_by_test_id("experiment-estimate")).to_be_visible()

    console.get_by_role("button", name="Start").click()
    expect(console.get_by_test_id("experiment-status")).to_have_text("running")
    expect(console.get_by_test_id("variant-b")).to_contain_text("30 %")
    experiment = Experiment.objects.get()
    experiment_outcomes(experiment, "control", visitors=700, purchasers=35, pages=1400, clicks=70)
    experiment_outcomes(experiment, "b", visitors=300, purchasers=27, pages=600, clicks=45)
    console.reload()
    expect(console.get_by_test_id("decision-b")).to_contain_text("likely better than control on conversion rate")

    draft = experiment.variants.get(key="b").draft
    console.get_by_label("Ship").select_option(label=f"B: draft #{draft.pk} of alice")
    console.get_by_role("button", name="Ship to everyone").click()
    expect(console.get_by_test_id("experiment-status")).to_contain_text("shipped")
    assert Rail.objects.get(shop=pattern_shop, key="trending").title == "Hot this week"
