import pytest
from playwright.sync_api import expect

from catalog.models import Item, Shopper
from merchandising.services import default_rails_ensure

pytestmark = pytest.mark.browser


def _trending_slot(storefront, shopper: str, slot: int) -> str:
    rails = storefront.get(f"/api/v1/homepage/{shopper}").json()["rails"]
    trending = next(rail for rail in rails if rail["key"] == "trending")
    return next(item["item_id"] for item in trending["items"] if item["slot"] == slot)


def test_a_pinned_item_holds_its_slot_in_the_preview_and_in_the_api(console, pattern_shop, storefront_a):
    default_rails_ensure(shop=pattern_shop)
    musk = Item.objects.get(shop=pattern_shop, title="Musk cologne spray")
    shopper = Shopper.objects.filter(shop=pattern_shop).earliest("pk").external_id  # a lipstick buyer
    assert _trending_slot(storefront_a, shopper, 2) != musk.external_id

    console.goto("/console/pins/")
    console.get_by_label("Rail").select_option(label="Trending now (trending)")
    console.get_by_placeholder("Title or item id").fill("musk")
    console.locator(".suggestions").get_by_role("button", name="Musk cologne spray").click()
    expect(console.get_by_placeholder("Title or item id")).to_have_value(musk.external_id)
    console.get_by_label("Slot").fill("2")
    console.get_by_role("button", name="Pin", exact=True).click()

    expect(console.get_by_role("status")).to_contain_text("Pinned")
    row = console.locator("#pin-list tbody tr", has_text="Musk cologne spray")
    expect(row).to_contain_text("trending")
    expect(row.get_by_test_id("pin-status")).to_have_text("live")

    console.get_by_role("link", name="Preview").first.click()
    console.get_by_label("Shopper id").fill(shopper)
    console.get_by_role("button", name="Preview", exact=True).click()
    slot = console.locator('#preview-live [data-rail="trending"] [data-slot="2"]')
    expect(slot).to_have_attribute("data-item-id", musk.external_id)
    expect(slot).to_contain_text("Musk cologne spray")

    assert _trending_slot(storefront_a, shopper, 2) == musk.external_id
