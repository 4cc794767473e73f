"""The console's main pages pass axe-core (bundled by axe-playwright-python) with no serious or critical
violation: names for every control and field, enough contrast, landmarks."""

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import Item
from merchandising.services import (
    adjustment_create,
    campaign_create,
    default_rails_ensure,
    rail_update,
)

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}
CONSOLE_PAGES = ["/console/", "/console/rails/", "/console/pins/", "/console/rules/", "/console/campaigns/",
                 "/console/preview/", "/console/models/", "/console/audit/", "/console/experiments/"]


@pytest.fixture
def busy_shop(pattern_shop, merchandiser_a):
    """A shop with something on every page: its rails, a boost, a campaign, and audit entries with diffs."""
    rails = default_rails_ensure(shop=pattern_shop)
    trending = next(rail for rail in rails if rail.key == "trending")
    rail_update(rail=trending, actor=merchandiser_a, title="Hot this week", size=6, diversity=0.6)
    item = Item.objects.filter(shop=pattern_shop).first()
    adjustment_create(shop=pattern_shop, target="item", item=item, multiplier=2.0, actor=merchandiser_a)
    now = timezone.now()
    campaign_create(shop=pattern_shop, name="Summer glow", starts_at=now - timedelta(days=1),
                    ends_at=now + timedelta(days=6), actor=merchandiser_a)
    return pattern_shop


def blocking_violations(page) -> str:
    """The serious and critical violations on the page, one block each, naming the elements at fault."""
    page.wait_for_load_state("networkidle")  # the fragments htmx loads after the page are checked too
    violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in BLOCKING]
    return "\n\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n  {v['helpUrl']}\n" + "\n".join(
            f"  - {', '.join(map(str, node['target']))}\n    {node['html'][:200]}\n    "
            + node["failureSummary"].replace("\n", "\n    ")
            for node in v["nodes"]
        )
        for v in violations
    )


def test_the_login_page_has_no_serious_accessibility_violation(page, merchandiser_a):
    page.goto("/accounts/login/")
    report = blocking_violations(page)
    assert not report, f"axe found on the login page:\n\n{report}"


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_a_console_page_has_no_serious_accessibility_violation(console, busy_shop, path):
    response = console.goto(path)
    assert response.status == 200
    report = blocking_violations(console)
    assert not report, f"axe found on {path}:\n\n{report}"


def test_open_panels_suggestions_and_a_held_rail_have_no_serious_accessibility_violation(console, busy_shop):
    """What the page shows only once used: a rail's diversity panel and its preview, a row picked up to move,
    and the shopper and item suggestion lists."""
    console.goto("/console/rails/")
    row = console.get_by_test_id("rail-trending")
    row.get_by_text("Diversity and caps").click()
    expect(row.get_by_test_id("preview-item").first).to_be_visible()
    row.get_by_role("button", name="Reorder “Hot this week”").press("Space")
    expect(row).to_have_class(re.compile(r"\brail-picked\b"))
    report = blocking_violations(console)
    assert not report, f"axe found on the Rails page, a rail held and its panel open:\n\n{report}"

    console.goto("/console/preview/")
    console.get_by_label("Shopper id").fill("s")
    expect(console.locator("#shopper-suggestions a").first).to_be_visible()
    report = blocking_violations(console)
    assert not report, f"axe found on the Preview page with shopper suggestions:\n\n{report}"

    console.goto("/console/pins/")
    console.get_by_label("Item", exact=True).fill("a")
    expect(console.locator(".suggestions button").first).to_be_visible()
    report = blocking_violations(console)
    assert not report, f"axe found on the Pins page with item suggestions:\n\n{report}"
