"""The preview's rails as a storefront shows them: cards with an image (or a placeholder drawn in the page), a
title of two lines at most, a price, and the reason, whose scores open from the keyboard."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from catalog.models import Item
from merchandising.models import Rail
from merchandising.services import default_rails_ensure, draft_open, rules_change
from tests.factories import ShopperFactory
from tests.homepage.helpers import embed_by_category, record

pytestmark = pytest.mark.browser

CDN = "https://cdn.example.test"
LONG_TITLE = "Amber perfume with notes of vanilla, benzoin, labdanum and a long sandalwood dry-down " * 5
PICTURE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240">'
    '<rect width="240" height="240" fill="#d98c5f"/><circle cx="120" cy="110" r="60" fill="#f4d3b5"/></svg>'
)


@pytest.fixture
def pictures(console):
    """The storefront's image host, answered here: the tests reach nothing outside the machine."""
    console.route(f"{CDN}/**", lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=PICTURE))
    return console


@pytest.fixture
def shopper(pattern_shop):
    embed_by_category(pattern_shop.items.all())
    default_rails_ensure(shop=pattern_shop)
    for title in ("Amber perfume", "Vanilla body mist"):
        slug = title.lower().replace(" ", "-")
        Item.objects.filter(shop=pattern_shop, title=title).update(image_url=f"{CDN}/{slug}.svg", price="39.90", currency="EUR")
    Item.objects.filter(shop=pattern_shop, title="Amber perfume").update(title=LONG_TITLE)
    fan = ShopperFactory(shop=pattern_shop, external_id="scent-fan")
    record(fan, Item.objects.get(shop=pattern_shop, title="Jasmine eau de parfum"), minutes_ago=5)
    return fan


def test_the_preview_shows_cards_with_an_image_a_price_and_a_clamped_title(console, pictures, shopper, live_server):
    hosts = set()
    console.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    console.goto(f"/console/preview/?shopper={shopper.external_id}")

    perfume = console.locator(f'#preview-live [data-item-id="{Item.objects.get(title=LONG_TITLE).external_id}"]').first
    expect(perfume).to_be_visible()
    image = perfume.locator("img")
    expect(image).to_have_attribute("src", f"{CDN}/amber-perfume.svg")
    image.scroll_into_view_if_needed()
    console.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image.element_handle())
    expect(perfume.locator(".item-price")).to_have_text("39.90 EUR")
    title = perfume.locator(".item-title")
    expect(title).to_have_attribute("title", LONG_TITLE)
    clamp = title.evaluate(
        "node => ({lines: node.clientHeight / parseFloat(getComputedStyle(node).lineHeight), hidden: node.scrollHeight > node.clientHeight})"
    )
    assert clamp["lines"] <= 2.05 and clamp["hidden"], clamp

    placeholders = console.locator('#preview-live [data-testid="image-placeholder"]')
    expect(placeholders.first).to_have_attribute("aria-label", "No image")
    assert placeholders.count() > 0

    why = perfume.locator("details.explanation")
    why.locator("summary").focus()
    console.keyboard.press("Enter")
    expect(why.locator("dl")).to_be_visible()
    expect(why).to_contain_text("Diversity penalty")

    assert hosts <= {urlsplit(live_server.url).netloc, urlsplit(CDN).netloc}, hosts


def test_cards_wrap_on_a_narrow_screen_and_no_long_title_overflows(console, pictures, shopper):
    console.set_viewport_size({"width": 380, "height": 800})

    console.goto(f"/console/preview/?shopper={shopper.external_id}")

    rail = console.locator('#preview-live [data-rail="for-you"]')
    expect(rail.locator(".item-card").first).to_be_visible()
    overflowing = rail.evaluate(
        """rail => [...rail.querySelectorAll('.item-card')].filter(card => {
               const box = card.getBoundingClientRect(), list = card.parentElement.getBoundingClientRect();
               return box.right > list.right + 0.5 || card.scrollWidth > card.clientWidth;
           }).length"""
    )
    assert overflowing == 0
    rows = rail.evaluate("rail => new Set([...rail.querySelectorAll('.item-card')].map(card => Math.round(card.getBoundingClientRect().top))).size")
    assert rows > 1  # the cards wrapped onto further rows rather than running off the side


def test_the_draft_column_shows_new_moved_and_removed_cards_in_words(console, pictures, shopper, pattern_shop, merchandiser_a):
    for_you = Rail.objects.get(shop=pattern_shop, key="for-you")
    musk = Item.objects.get(shop=pattern_shop, title="Musk cologne spray")
    draft_open(shop=pattern_shop, author=merchandiser_a)
    rules_change(shop=pattern_shop, actor=merchandiser_a, operation="pin_create", summary="Musk first", rail=for_you,
                 item=musk, slot=1)
    rules_change(shop=pattern_shop, actor=merchandiser_a, operation="block_create", summary="No lip gloss",
                 item=Item.objects.get(shop=pattern_shop, title="Rose lip gloss"))

    console.goto(f"/console/preview/?shopper={shopper.external_id}")

    drafted = console.locator('#preview-draft [data-rail="for-you"]')
    expect(drafted.locator(f'[data-item-id="{musk.external_id}"]').get_by_test_id("moved")).to_have_text("new in this rail with your draft")
    expect(drafted.locator('[data-slot="1"] .badge')).to_have_text("Pinned")
    removed = drafted.locator(".item-card.removed", has_text="Rose lip gloss")
    expect(removed.get_by_test_id("moved")).to_have_text("removed from this rail by your draft")
    expect(drafted.locator(".item-card.moved-down").first.get_by_test_id("moved")).to_contain_text("↓")
    expect(console.locator("#preview-live").get_by_test_id("moved")).to_have_count(0)
