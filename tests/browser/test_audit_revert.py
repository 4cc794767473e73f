import pytest
from playwright.sync_api import expect

from merchandising.models import AuditEntry, Rail

pytestmark = pytest.mark.browser


def test_a_retitle_is_shown_as_a_diff_in_the_audit_log_and_reverted_in_one_click(console, pattern_shop):
    console.goto("/console/rails/")
    trending = console.get_by_test_id("rail-trending")
    trending.get_by_label("Title").fill("Hot this week")
    trending.get_by_role("button", name="Save", exact=True).click()
    expect(trending.locator(".rail-name strong")).to_have_text("Hot this week")  # saved: the row came back

    console.get_by_role("link", name="Audit log").click()
    entry = console.get_by_test_id("audit-entry").first
    expect(entry.get_by_test_id("audit-diff")).to_have_text("Title: Trending now → Hot this week")
    changed = AuditEntry.objects.get(shop=pattern_shop, action="rail_update")

    entry.get_by_role("button", name=f"Revert #{changed.pk}").click()

    expect(console.get_by_text(f"Reverted #{changed.pk}: Title Hot this week → Trending now")).to_be_visible()
    newest = console.get_by_test_id("audit-entry").first
    expect(newest).to_contain_text(f"Reverted #{changed.pk}: trending (Trending)")
    expect(newest.get_by_test_id("audit-diff")).to_have_text("Title: Hot this week → Trending now")
    expect(console.locator(f"#audit-{changed.pk}")).to_contain_text("reverted by")
    assert Rail.objects.get(shop=pattern_shop, key="trending").title == "Trending now"
