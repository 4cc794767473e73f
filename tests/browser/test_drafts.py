import pytest
from playwright.sync_api import expect

from merchandising.models import AuditEntry, Draft

pytestmark = pytest.mark.browser


def _api_titles(storefront) -> dict[str, str]:
    page = storefront.get("/api/v1/homepage/a-new-shopper").json()
    return {rail["key"]: rail["title"] for rail in page["rails"]}


def test_a_draft_is_previewed_beside_the_live_page_then_published(console, pattern_shop, storefront_a):
    console.goto("/console/rails/")
    console.get_by_role("button", name="Start a draft").click()
    draft_bar = console.locator("#draft-bar")
    expect(draft_bar).to_contain_text("Draft mode")

    trending = console.get_by_test_id("rail-trending")
    trending.get_by_label("Title").fill("Hot this week")
    trending.get_by_role("button", name="Save", exact=True).click()
    expect(draft_bar).to_contain_text("1 change not live yet")
    assert _api_titles(storefront_a)["trending"] == "Trending now"  # kept out of the live page

    draft_bar.get_by_role("link", name="Preview side by side").click()
    live, drafted = console.locator("#preview-live"), console.locator("#preview-draft")
    expect(live.locator('[data-rail="trending"] .rail-title')).to_have_text("Trending now")
    expect(drafted.locator('[data-rail="trending"] .rail-title')).to_have_text("Hot this week")
    expect(drafted.locator('[data-rail="trending"]').get_by_test_id("moved")).to_have_text("was “Trending now”")
    expect(live.get_by_test_id("moved")).to_have_count(0)

    console.get_by_test_id("draft-changes").get_by_role("button", name="Publish 1 change").click()
    expect(console.get_by_text("Published 1 change: they are live now.")).to_be_visible()
    expect(live.locator('[data-rail="trending"] .rail-title')).to_have_text("Hot this week")
    expect(drafted).to_have_count(0)
    expect(draft_bar).to_contain_text("Edits go live at once.")

    assert _api_titles(storefront_a)["trending"] == "Hot this week"
    assert Draft.objects.get(shop=pattern_shop).published_at is not None
    assert AuditEntry.objects.filter(shop=pattern_shop, action="draft_publish").exists()
