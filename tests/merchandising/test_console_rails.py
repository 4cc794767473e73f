"""The Rails page: what a merchandiser changes there is what the storefront API then serves."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Event, EventType, Item
from merchandising.models import AuditEntry, Rail
from merchandising.services import draft_open, rail_update, rule_delete
from tests.factories import ShopperFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def rail(key: str) -> Rail:
    return Rail.objects.get(shop__slug="shop-a", key=key)


def api_rails(storefront, shopper: str = "nobody-yet") -> list[dict]:
    response = storefront.get(f"/api/v1/homepage/{shopper}")
    assert response.status_code == 200, response.content
    return response.json()["rails"]


def listed(html: str) -> list[str]:
    return re.findall(r'<li id="rail-\d+"[^>]*data-testid="rail-([\w-]+)"', html)


def figure(html: str, name: str) -> float:
    return float(re.search(rf'data-testid="{name}">([\d.]+)<', html).group(1))


def test_the_page_lists_every_rail_in_page_order_with_its_slider(console_a):
    page = console_a.get("/console/rails/").content.decode()
    keys = listed(page)
    assert keys[:3] == ["campaign", "for-you", "because-you-viewed"] and "recently-viewed" in keys
    assert page.count('data-testid="diversity-slider"') == len(keys)
    assert 'type="range" name="diversity"' in page and 'min="0"' in page and 'step="0.05"' in page


def test_moving_a_rail_up_changes_the_order_the_storefront_api_serves(console_a, storefront_a):
    assert [entry["key"] for entry in api_rails(storefront_a)] [:2] == ["for-you", "trending"]
    trending = rail("trending")
    for _ in range(2):  # past because-you-viewed, then past for-you
        response = console_a.post(f"/console/rails/{trending.pk}/move/", {"direction": "up"}, **HTMX)
        assert response.status_code == 200
        assert "rulesChanged" in response["HX-Trigger"]
    assert listed(response.content.decode())[:3] == ["campaign", "trending", "for-you"]
    assert [entry["key"] for entry in api_rails(storefront_a)] [:2] == ["trending", "for-you"]
    assert AuditEntry.objects.filter(shop=trending.shop, action="rails_reorder").count() == 2


def test_disabling_retitling_and_resizing_swap_the_row_and_reach_the_api(console_a, storefront_a):
    trending, new_arrivals = rail("trending"), rail("new-arrivals")
    response = console_a.post(f"/console/rails/{trending.pk}/enabled/", {"enabled": ""}, **HTMX)
    assert response.status_code == 200 and "disabled" in response.content.decode()
    assert response.content.decode().lstrip().startswith(f'<li id="rail-{trending.pk}"')
    response = console_a.post(f"/console/rails/{new_arrivals.pk}/", {"title": "Just in", "size": "3"}, **HTMX)
    assert response.status_code == 200 and "Just in" in response.content.decode()
    served = {entry["key"]: entry for entry in api_rails(storefront_a)}
    assert "trending" not in served
    assert served["new-arrivals"]["title"] == "Just in" and len(served["new-arrivals"]["items"]) == 3
    entry = AuditEntry.objects.filter(action="rail_update", object_id=new_arrivals.pk).get()
    assert entry.before["size"] == 12 and entry.after["size"] == 3


def test_without_htmx_an_edit_redirects_back_to_the_page(console_a):
    response = console_a.post(f"/console/rails/{rail('trending').pk}/", {"title": "Hot", "size": "5"})
    assert response.status_code == 302 and response["Location"] == "/console/rails/"
    assert rail("trending").title == "Hot"


@pytest.fixture
def lips_best_sellers(pattern_shop):
    """Lips outsell everything: by relevance alone the cold-start rail is all lips."""
    now = timezone.now()
    lips = Item.objects.filter(shop=pattern_shop, category_path="Makeup > Lips")
    buyers = [ShopperFactory(shop=pattern_shop) for _ in range(10)]
    Event.objects.bulk_create(
        Event(shop=pattern_shop, shopper=buyer, item=item, type=EventType.PURCHASE, event_id=f"lips-{buyer.pk}-{item.pk}",
              occurred_at=now - timedelta(hours=1))
        for buyer in buyers for item in lips
    )
    return pattern_shop


def test_the_slider_preview_shows_more_categories_at_lambda_1_than_at_0_and_saves_nothing(console_a, lips_best_sellers):
    for_you = rail("for-you")
    rail_update(rail=for_you, size=4)

    def preview(diversity: str) -> str:
        response = console_a.get(
            f"/console/rails/{for_you.pk}/preview/",
            {"diversity": diversity, "max_per_category": "", "max_per_brand": "", "new_shopper": "on"}, **HTMX,
        )
        assert response.status_code == 200
        return response.content.decode()

    relevant, diverse = preview("0"), preview("1")
    assert figure(relevant, "distinct-categories") == 1
    assert figure(diverse, "distinct-categories") == 3
    assert figure(relevant, "mean-relevance") > figure(diverse, "mean-relevance")  # the trade-off, visible
    assert relevant.count('data-testid="preview-item"') == 4 and relevant.count("Makeup &gt; Lips") == 4
    assert "new shopper (cold start)" in relevant
    assert rail("for-you").diversity == 0.3  # a preview saves nothing
    assert not AuditEntry.objects.filter(action="rail_update", object_id=for_you.pk, after__diversity__in=[0, 1]).exists()


def test_the_preview_is_for_the_most_active_shopper_by_default_and_any_shopper_named(console_a, pattern_shop):
    busiest = ShopperFactory(shop=pattern_shop, external_id="busiest")
    item = Item.objects.filter(shop=pattern_shop).first()
    Event.objects.bulk_create(
        Event(
            shop=pattern_shop, shopper=busiest, item=item, type=EventType.VIEW, event_id=f"busy-{n}",
            occurred_at=timezone.now(),
        )
        for n in range(9)
    )
    page = console_a.get("/console/rails/").content.decode()
    assert 'name="shopper" value="busiest"' in page
    for_you = rail("for-you")
    named = console_a.get(f"/console/rails/{for_you.pk}/preview/", {"diversity": "0.3", "shopper": "busiest"}, **HTMX)
    assert "shopper busiest" in named.content.decode() and "Picked for you" in named.content.decode()
    unknown = console_a.get(f"/console/rails/{for_you.pk}/preview/", {"diversity": "0.3", "shopper": "ghost"}, **HTMX)
    assert "unknown here" in unknown.content.decode() and "Popular right now" in unknown.content.decode()


def test_saving_lambda_and_caps_is_audit_logged_and_served(console_a, merchandiser_a):
    for_you = rail("for-you")
    response = console_a.post(
        f"/console/rails/{for_you.pk}/ranking/",
        {"diversity": "0.8", "max_per_category": "2", "max_per_brand": "", "shopper": ""}, **HTMX,
    )
    assert response.status_code == 200 and "rulesChanged" in response["HX-Trigger"]
    assert "λ 0.80" in response.content.decode()
    saved = rail("for-you")
    assert (saved.diversity, saved.max_per_category, saved.max_per_brand) == (0.8, 2, None)
    entry = AuditEntry.objects.get(action="rail_update", object_id=for_you.pk)
    assert entry.user == merchandiser_a
    assert entry.before["diversity"] == 0.3 and entry.after["diversity"] == 0.8 and entry.after["max_per_brand"] is None


def test_in_draft_mode_a_rail_edit_stays_off_the_live_page_until_published(console_a, merchandiser_a, storefront_a):
    draft_open(shop=merchandiser_a.memberships.get().shop, author=merchandiser_a)
    trending = rail("trending")
    response = console_a.post(f"/console/rails/{trending.pk}/", {"title": "Hot this week", "size": "12"}, **HTMX)
    assert response.status_code == 200
    assert "draftChanged" in response["HX-Trigger"]
    assert "Hot this week" in response.content.decode()  # the merchandiser sees their draft
    assert "Hot this week" in console_a.get("/console/rails/").content.decode()
    served = {entry["key"]: entry["title"] for entry in api_rails(storefront_a)}
    assert served["trending"] == "Trending now" and rail("trending").title == "Trending now"
    assert not AuditEntry.objects.filter(action="rail_update").exists()
    assert console_a.post("/console/draft/publish/").status_code == 302
    served = {entry["key"]: entry["title"] for entry in api_rails(storefront_a)}
    assert served["trending"] == "Hot this week"
    assert AuditEntry.objects.filter(action="rail_update", object_id=trending.pk).exists()


def test_a_draft_that_no_longer_applies_leaves_the_page_showing_the_live_rails(console_a, merchandiser_a):
    draft_open(shop=merchandiser_a.memberships.get().shop, author=merchandiser_a)
    complements = rail("complements")
    console_a.post(f"/console/rails/{complements.pk}/", {"title": "Pairs well", "size": "8"}, **HTMX)
    rule_delete(rule=complements)  # the draft's edit now names a rail that is gone
    response = console_a.get("/console/rails/")
    assert response.status_code == 200
    assert listed(response.content.decode())[:2] == ["campaign", "for-you"] and "Pairs well" not in response.content.decode()


HOSTILE_BASICS = [
    {"title": "Fine", "size": "0"}, {"title": "Fine", "size": "99"}, {"title": "Fine", "size": "abc"},
    {"title": "Fine", "size": "1e9"}, {"title": "", "size": "4"}, {"title": "Nul\x00", "size": "4"},
    {"title": "x" * 300, "size": "4"},
]
HOSTILE_RANKING = [
    {"diversity": "-0.1"}, {"diversity": "1.5"}, {"diversity": "abc"}, {"diversity": "nan"}, {"diversity": "inf"},
    {"diversity": ""}, {"diversity": "0.5", "max_per_category": "-1"}, {"diversity": "0.5", "max_per_brand": "abc"},
    {"diversity": "0.5", "max_per_category": "0"}, {"diversity": "0.5", "shopper": "\x00"},
]


@pytest.mark.parametrize("htmx", [True, False])
def test_hostile_input_gets_messages_beside_the_fields_never_a_500(console_a, htmx):
    headers = HTMX if htmx else {}
    for_you = rail("for-you")
    before = (for_you.title, for_you.size, for_you.diversity, for_you.max_per_category, for_you.max_per_brand)
    for data in HOSTILE_BASICS:
        response = console_a.post(f"/console/rails/{for_you.pk}/", data, **headers)
        assert response.status_code == 400, data
        assert 'class="errorlist' in response.content.decode(), data
    for data in HOSTILE_RANKING:
        for response in (
            console_a.post(f"/console/rails/{for_you.pk}/ranking/", data, **headers),
            console_a.get(f"/console/rails/{for_you.pk}/preview/", data, **headers),
        ):
            assert response.status_code == 400, data
            assert 'class="errorlist' in response.content.decode(), data
    for direction in ("sideways", "", "\x00"):
        assert console_a.post(f"/console/rails/{for_you.pk}/move/", {"direction": direction}, **headers).status_code == 400
    assert console_a.post("/console/rails/999999/", {"title": "x", "size": "3"}, **headers).status_code == 404
    assert console_a.get("/console/rails/99999999999999999999/preview/").status_code == 404
    after = rail("for-you")
    assert (after.title, after.size, after.diversity, after.max_per_category, after.max_per_brand) == before
    assert not AuditEntry.objects.exists()


def test_another_shops_merchandiser_neither_sees_nor_edits_these_rails(client, console_a, merchandiser_b, shop_b):
    for_you = rail("for-you")
    rail_update(rail=for_you, title="Only shop A's")
    client.force_login(merchandiser_b)
    assert "Only shop A's" not in client.get("/console/rails/").content.decode()
    assert client.post(f"/console/rails/{for_you.pk}/", {"title": "Taken", "size": "3"}).status_code == 404
    assert client.post(f"/console/rails/{for_you.pk}/enabled/", {"enabled": ""}).status_code == 404
    assert client.post(f"/console/rails/{for_you.pk}/move/", {"direction": "down"}).status_code == 404
    assert client.post(f"/console/rails/{for_you.pk}/ranking/", {"diversity": "1"}).status_code == 404
    assert client.get(f"/console/rails/{for_you.pk}/preview/", {"diversity": "1"}).status_code == 404
    after = rail("for-you")
    assert (after.title, after.enabled, after.diversity) == ("Only shop A's", True, 0.3)
