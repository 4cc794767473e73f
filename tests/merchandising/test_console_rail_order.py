"""The Rails page's order endpoint: a drag and drop posts the whole page order once."""

import re

import pytest

from merchandising.models import AuditEntry, DraftChange, Rail
from merchandising.services import draft_open

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page_order() -> list[str]:
    return list(Rail.objects.filter(shop__slug="shop-a").order_by("position", "pk").values_list("key", flat=True))


def listed(html: str) -> list[str]:
    return re.findall(r'<li id="rail-\d+"[^>]*data-testid="rail-([\w-]+)"', html)


def served(storefront) -> list[str]:
    response = storefront.get("/api/v1/homepage/nobody-yet")
    assert response.status_code == 200, response.content
    return [entry["key"] for entry in response.json()["rails"]]


def dragged(keys: list[str], key: str, *, to: int) -> list[str]:
    rest = [other for other in keys if other != key]
    return rest[:to] + [key] + rest[to:]


def test_a_dropped_order_is_saved_logged_and_served_in_that_order(console_a, storefront_a):
    before = page_order()
    assert served(storefront_a)[:2] == ["for-you", "trending"]
    after = dragged(before, "trending", to=1)
    response = console_a.post("/console/rails/order/", {"keys": after}, **HTMX)
    assert response.status_code == 200
    assert "rulesChanged" in response["HX-Trigger"]  # the page's previews refresh
    assert listed(response.content.decode()) == after == page_order()
    assert served(storefront_a)[:2] == ["trending", "for-you"]
    entry = AuditEntry.objects.get(action="rails_reorder")
    assert entry.after == {key: position for position, key in enumerate(after)}


def test_the_same_order_posted_again_changes_and_logs_nothing(console_a):
    response = console_a.post("/console/rails/order/", {"keys": page_order()}, **HTMX)
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert not AuditEntry.objects.filter(action="rails_reorder").exists()


def test_without_htmx_a_dropped_order_redirects_back_to_the_page(console_a):
    after = dragged(page_order(), "new-arrivals", to=0)
    response = console_a.post("/console/rails/order/", {"keys": after})
    assert response.status_code == 302 and response["Location"] == "/console/rails/"
    assert page_order() == after


def test_in_draft_mode_a_dropped_order_waits_in_the_draft(console_a, merchandiser_a, storefront_a):
    draft_open(shop=merchandiser_a.memberships.get().shop, author=merchandiser_a)
    live = page_order()
    after = dragged(live, "trending", to=0)
    response = console_a.post("/console/rails/order/", {"keys": after}, **HTMX)
    assert response.status_code == 200 and "draftChanged" in response["HX-Trigger"]
    assert listed(response.content.decode()) == after  # the merchandiser sees their draft's order
    assert page_order() == live and served(storefront_a)[0] != "trending"
    assert DraftChange.objects.get().summary == "Rail trending moved to place 1"


@pytest.mark.parametrize("htmx", [True, False])
def test_an_order_that_is_not_the_whole_page_once_is_refused_with_a_message(console_a, htmx):
    keys = page_order()
    hostile = [
        {}, {"keys": ""}, {"keys": keys[1:]}, {"keys": keys + ["no-such-rail"]}, {"keys": keys + keys[:1]},
        {"keys": [keys[0]] + keys[2:] + ["\x00"]},
    ]
    for data in hostile:
        response = console_a.post("/console/rails/order/", data, **(HTMX if htmx else {}))
        assert response.status_code == 400, data
        assert 'class="errorlist' in response.content.decode(), data
    assert page_order() == keys
    assert not AuditEntry.objects.filter(action="rails_reorder").exists()
