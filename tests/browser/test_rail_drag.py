"""Reordering rails on the Rails page by dragging with the mouse and by the keyboard on a row's handle."""

import pytest
from playwright.sync_api import expect

from merchandising.models import AuditEntry
from merchandising.services import default_rails_ensure

pytestmark = pytest.mark.browser


@pytest.fixture
def rails_page(console, pattern_shop):
    keys = [rail.key for rail in default_rails_ensure(shop=pattern_shop)]
    console.goto("/console/rails/")
    expect(console.locator("#rail-list > li[data-key]")).to_have_count(len(keys))
    return console, keys


def shown(page) -> list[str]:
    return page.locator("#rail-list > li[data-key]").evaluate_all("rows => rows.map(row => row.dataset.key)")


def served(storefront) -> list[str]:
    response = storefront.get("/api/v1/homepage/nobody-yet")
    assert response.status_code == 200, response.content
    return [entry["key"] for entry in response.json()["rails"]]


def handle(page, key: str):
    return page.get_by_test_id(f"rail-{key}").locator(".rail-handle")


def test_dragging_a_rail_by_its_handle_saves_the_new_order(rails_page, storefront_a):
    page, keys = rails_page
    assert served(storefront_a)[:2] == ["for-you", "trending"]
    trending = keys.index("trending")
    # Every row in view: a drag that scrolled the page would press a row other than the one hovered.
    page.set_viewport_size({"width": 1280, "height": 2200})
    with page.expect_response(lambda response: response.url.endswith("/console/rails/order/")) as posted:
        # Onto the top half of the "for-you" row: the dragged row goes above it.
        handle(page, "trending").drag_to(page.get_by_test_id("rail-for-you"), target_position={"x": 40, "y": 8}, steps=8)
    assert posted.value.status == 200
    expected = keys[:1] + ["trending"] + [key for key in keys[1:] if key != "trending"]
    assert expected.index("trending") == trending - 2  # past because-you-viewed and for-you
    expect(page.locator("#rail-announce")).to_have_text(f"Moved “Trending now” to position 2 of {len(keys)}.")
    expect(page.get_by_test_id("rail-trending").locator(".rail-number")).to_have_text("2")

    page.reload()
    assert shown(page) == expected
    assert served(storefront_a)[:2] == ["trending", "for-you"]
    assert AuditEntry.objects.filter(action="rails_reorder").count() == 1


def test_the_keyboard_picks_up_moves_and_drops_a_rail_and_escape_cancels(rails_page, storefront_a):
    page, keys = rails_page
    announce = page.locator("#rail-announce")
    new_arrivals = handle(page, "new-arrivals")
    start = keys.index("new-arrivals")

    new_arrivals.focus()
    page.keyboard.press("Space")
    expect(new_arrivals).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("ArrowDown")
    expect(announce).to_have_text(f"“New arrivals”, position {start + 2} of {len(keys)}.")
    page.keyboard.press("Escape")  # back where it was, nothing posted
    expect(announce).to_have_text(f"Cancelled: “New arrivals” back at position {start + 1} of {len(keys)}.")
    assert shown(page) == keys
    expect(new_arrivals).to_be_focused()

    page.keyboard.press("Enter")
    for _ in range(start):
        page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # already at the top: stays
    expect(announce).to_have_text(f"“New arrivals”, position 1 of {len(keys)}.")
    with page.expect_response(lambda response: response.url.endswith("/console/rails/order/")) as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 200
    expect(announce).to_have_text(f"Moved “New arrivals” to position 1 of {len(keys)}.")
    expected = ["new-arrivals"] + [key for key in keys if key != "new-arrivals"]
    expect(handle(page, "new-arrivals")).to_be_focused()  # on the new list's handle, ready for another move
    expect(page.get_by_test_id("rail-new-arrivals").get_by_role("button", name="Move new-arrivals up")).to_be_disabled()

    page.reload()
    assert shown(page) == expected
    served_keys = served(storefront_a)  # the rails with something for this shopper, in page order
    assert served_keys[0] == "new-arrivals" and served_keys == [key for key in expected if key in served_keys]
