"""The preview page: a shopper's homepage exactly as the API serves it, explained; drafts side by side."""

import json
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from catalog.models import Event, EventType, Item
from homepage.services import Page, PageItem, PageRail
from merchandising.models import AuditEntry, DraftChange, Rail
from merchandising.selectors import page_marks
from merchandising.services import (
    campaign_create,
    default_rails_ensure,
    draft_open,
    rule_delete,
    rules_change,
)
from tests.factories import ShopperFactory
from tests.homepage.helpers import embed_by_category, record

pytestmark = pytest.mark.django_db

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: list[tuple[str, str | None]]):
        self.tag, self.attrs, self.children = tag, dict(attrs), []

    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else f" {c.text()} " for c in self.children).split())

    def find_all(self, test):
        for child in self.children:
            if isinstance(child, Node):
                if test(child):
                    yield child
                yield from child.find_all(test)

    def find(self, test):
        return next(self.find_all(test), None)

    def by_id(self, element_id: str):
        return self.find(lambda node: node.attrs.get("id") == element_id)

    def by_class(self, name: str):
        return self.find(lambda node: name in (node.attrs.get("class") or "").split())


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = Node("document", [])
        self.open = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs)
        self.open[-1].children.append(node)
        if tag not in VOID_TAGS:
            self.open.append(node)

    def handle_endtag(self, tag):
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        self.open[-1].children.append(data)


def _html(response) -> Node:
    assert response.status_code == 200, response.content.decode()[:3000]
    tree = _Tree()
    tree.feed(response.content.decode())
    return tree.root


def _rails(scope: Node) -> list[dict]:
    """What a preview (or one of its columns) shows, in the shape the API's page is read into below."""
    return [
        {
            "key": rail.attrs["data-rail"],
            "title": rail.by_class("rail-title").text(),
            "items": [
                (int(item.attrs["data-slot"]), item.attrs["data-item-id"], item.by_class("item-title").text(), item.by_class("reason").text())
                for item in rail.find_all(lambda node: "data-slot" in node.attrs)
            ],
        }
        for rail in scope.find_all(lambda node: "data-rail" in node.attrs)
    ]


def _api_rails(storefront, shopper_id: str) -> list[dict]:
    response = storefront.get(f"/api/v1/homepage/{shopper_id}")
    assert response.status_code == 200, response.json()
    return [
        {
            "key": rail["key"],
            "title": rail["title"],
            "items": [(item["slot"], item["item_id"], item["title"], item["reason"]) for item in rail["items"]],
        }
        for rail in response.json()["rails"]
    ]


def _marks(scope: Node) -> list[str]:
    return [mark.text() for mark in scope.find_all(lambda node: node.attrs.get("data-testid") == "moved")]


@pytest.fixture
def served(pattern_shop):
    embed_by_category(pattern_shop.items.all())
    default_rails_ensure(shop=pattern_shop)
    return pattern_shop


@pytest.fixture
def alice(client, merchandiser_a):
    client.force_login(merchandiser_a)
    return client


@pytest.fixture
def viewer(served):
    """A shopper who looked at face care lately."""
    shopper = ShopperFactory(shop=served, external_id="face-fan")
    for minutes_ago, title in ((30, "Clay face mask"), (20, "Vitamin C serum"), (10, "Night repair cream")):
        record(shopper, Item.objects.get(shop=served, title=title), minutes_ago=minutes_ago)
    return shopper


def _rail(shop, key: str) -> Rail:
    return Rail.objects.get(shop=shop, key=key)


def _draft_retitle(shop, user, key: str, title: str):
    return rules_change(shop=shop, actor=user, operation="rail_update", summary=f"Retitle {key} to “{title}”",
                        rail=_rail(shop, key), title=title)


def test_the_preview_of_a_known_shopper_is_the_page_the_api_serves(alice, storefront_a, viewer):
    api = _api_rails(storefront_a, "face-fan")

    shown = _rails(_html(alice.get("/console/preview/", {"shopper": "face-fan"})))

    assert shown == api
    assert {rail["key"] for rail in api} >= {"for-you", "because-you-viewed", "recently-viewed"}


def test_the_preview_of_a_new_shopper_is_the_cold_start_page_the_api_serves(alice, storefront_a, served):
    api = _api_rails(storefront_a, "never-seen")

    page = _html(alice.get("/console/preview/"))

    assert _rails(page) == api and api[0]["title"] == "Popular right now"
    assert "A new shopper" in page.by_id("preview").text()


def test_each_item_is_explained_with_its_scores_and_the_pin_or_boost_applied(alice, served, viewer, merchandiser_a):
    pinned = Item.objects.get(shop=served, title="Amber perfume")
    boosted = Item.objects.get(shop=served, title="Hydrating face cream")
    rules_change(shop=served, actor=merchandiser_a, operation="pin_create", summary="Pin", rail=_rail(served, "for-you"),
                 item=pinned, slot=2)
    rules_change(shop=served, actor=merchandiser_a, operation="adjustment_create", summary="Boost", target="item",
                 item=boosted, multiplier=3)

    page = _html(alice.get("/console/preview/", {"shopper": "face-fan"}))

    for_you = page.find(lambda node: node.attrs.get("data-rail") == "for-you")
    items = list(for_you.find_all(lambda node: "data-slot" in node.attrs))
    assert all(item.find(lambda node: node.tag == "details") for item in items)
    at_two = next(item for item in items if item.attrs["data-slot"] == "2")
    assert at_two.attrs["data-item-id"] == pinned.external_id and "pinned at slot 2" in at_two.text()
    explained = page.find(lambda node: node.attrs.get("data-item-id") == boosted.external_id).text()
    assert "Boost ×3" in explained
    assert "Relevance" in explained and "Diversity penalty" in explained and "popularity" in explained


def test_the_shoppers_interest_tags_with_their_weights_and_recent_events_are_shown(alice, viewer):
    Event.objects.create(
        shop=viewer.shop, shopper=viewer, type=EventType.SEARCH, query="Gentle  Cleanser", event_id="searched",
        occurred_at=timezone.now() - timedelta(minutes=40),
    )

    page = _html(alice.get("/console/preview/", {"shopper": "face-fan"}))

    tags = page.find(lambda node: node.attrs.get("data-testid") == "tags").text()
    assert "Skin Care > Face 100%" in tags  # every view was of face care, live: no profile refresh needed
    assert "Searches" in tags and "gentle cleanser 100%" in tags
    events = [row.text() for row in page.find(lambda node: node.attrs.get("data-testid") == "events").find_all(lambda n: n.tag == "tr")]
    assert events[1].startswith("view Night repair cream") and "ago" in events[1]
    assert [row.split(" ")[1] for row in events[1:]] == ["Night", "Vitamin", "Clay", "“Gentle"]  # the search last


def test_an_unknown_or_hostile_shopper_id_is_a_clear_message_not_an_error(alice, served):
    unknown = _html(alice.get("/console/preview/", {"shopper": "nobody"}))
    assert "No shopper with id “nobody” in this shop" in unknown.by_id("shopper-errors").text()
    assert not _rails(unknown)
    for hostile in ("\x00", "x" * 5000, "' OR 1=1 --", "%"):
        assert alice.get("/console/preview/", {"shopper": hostile}).status_code == 200
    assert "No shopper" in alice.get("/console/preview/", {"shopper": "bob's"}).content.decode()


def test_shopper_suggestions_start_with_the_query_most_active_first_in_the_own_shop_only(alice, served, shop_b):
    items = list(Item.objects.filter(shop=served)[:5])
    for external_id, count in (("vip-quiet", 0), ("vip-busy", 5), ("vip-some", 2), ("other-vip", 9)):
        shopper = ShopperFactory(shop=served, external_id=external_id)
        for item in items[:count]:
            record(shopper, item)
    ShopperFactory(shop=shop_b, external_id="vip-elsewhere")

    listed = _html(alice.get("/console/preview/shoppers/", {"shopper": "vip"}))

    assert [link.find(lambda n: n.tag == "code").text() for link in listed.find_all(lambda n: n.tag == "a")] == [
        "vip-busy", "vip-some", "vip-quiet"
    ]
    assert "/console/preview/?shopper=vip-busy" in listed.find(lambda n: n.tag == "a").attrs["hx-get"]
    assert "No shopper id starts with" in alice.get("/console/preview/shoppers/", {"shopper": "zzz"}).content.decode()
    for hostile in ("\x00", "%", "_", "x" * 5000):
        assert alice.get("/console/preview/shoppers/", {"shopper": hostile}).status_code == 200


def test_switching_shopper_over_htmx_swaps_the_preview_alone(alice, viewer):
    response = alice.get("/console/preview/", {"shopper": "face-fan"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="preview"')
    assert 'hx-get="/console/preview/?shopper=face-fan"' in body
    assert "rulesChanged from:body" in body and "draftChanged from:body" in body
    assert "HX-Request" in response["Vary"]
    boosted = alice.get("/console/preview/", {"shopper": "face-fan"}, HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
    assert "<html" in boosted.content.decode()  # publish and discard are boosted: their redirect lands on the whole page


def test_a_draft_retitle_and_disable_show_in_the_draft_column_only_and_not_in_the_api(
    alice, storefront_a, served, merchandiser_a
):
    api_before = _api_rails(storefront_a, "someone-new")
    assert [rail["key"] for rail in api_before] == ["for-you", "trending"]
    draft_open(shop=served, author=merchandiser_a)
    _draft_retitle(served, merchandiser_a, "trending", "Hot this week")
    rules_change(shop=served, actor=merchandiser_a, operation="rail_update", summary="Hide the first rail",
                 rail=_rail(served, "for-you"), enabled=False)

    page = _html(alice.get("/console/preview/"))

    live, drafted = _rails(page.by_id("preview-live")), _rails(page.by_id("preview-draft"))
    assert live == api_before
    titles = {rail["key"]: rail["title"] for rail in drafted}
    assert titles["trending"] == "Hot this week" and "for-you" not in titles
    assert not _marks(page.by_id("preview-live"))
    marks = _marks(page.by_id("preview-draft"))
    assert "was “Trending now”" in marks
    assert any("for-you" in mark and "no longer shown" in mark for mark in marks)
    assert "new rail" in marks  # the items the hidden rail held now fill a rail further down
    changes = page.find(lambda node: node.attrs.get("data-testid") == "draft-changes").text()
    assert "Retitle trending to “Hot this week”" in changes and "Hide the first rail" in changes
    assert _api_rails(storefront_a, "someone-new") == api_before


def test_an_item_moved_by_a_draft_pin_is_marked_with_how_far_it_moved(alice, served, viewer, merchandiser_a):
    live = _rails(_html(alice.get("/console/preview/", {"shopper": "face-fan"})))
    slot, item_id, *_ = next(rail for rail in live if rail["key"] == "for-you")["items"][3]
    draft_open(shop=served, author=merchandiser_a)
    rules_change(shop=served, actor=merchandiser_a, operation="pin_create", summary="Pin it first",
                 rail=_rail(served, "for-you"), item=Item.objects.get(shop=served, external_id=item_id), slot=1)

    drafted = _html(alice.get("/console/preview/", {"shopper": "face-fan"})).by_id("preview-draft")

    moved = drafted.find(lambda node: node.attrs.get("data-item-id") == item_id)
    assert moved.attrs["data-slot"] == "1"
    assert f"up {slot - 1}" in _marks(moved)[0]


def test_publish_makes_the_api_serve_the_draft_and_audit_logs_it(alice, storefront_a, viewer, merchandiser_a):
    draft_open(shop=viewer.shop, author=merchandiser_a)
    _draft_retitle(viewer.shop, merchandiser_a, "trending", "Hot this week")
    rules_change(shop=viewer.shop, actor=merchandiser_a, operation="rails_reorder", summary="Trending first",
                 keys=["trending"])
    drafted = _rails(_html(alice.get("/console/preview/", {"shopper": "face-fan"})).by_id("preview-draft"))
    assert drafted[0]["key"] == "trending"

    response = alice.post("/console/draft/publish/", {"next": "/console/preview/?shopper=face-fan"})

    assert response.status_code == 302 and response["Location"] == "/console/preview/?shopper=face-fan"
    assert _api_rails(storefront_a, "face-fan") == drafted
    actions = set(AuditEntry.objects.filter(shop=viewer.shop, user=merchandiser_a).values_list("action", flat=True))
    assert actions == {"rail_update", "rails_reorder", "draft_publish"}
    after = _html(alice.get(response["Location"]))
    assert after.by_id("preview-draft") is None and _rails(after) == drafted
    assert "Published 2 changes" in after.text()


def test_discard_leaves_the_live_page_untouched(alice, storefront_a, viewer, merchandiser_a):
    api_before = _api_rails(storefront_a, "face-fan")
    draft_open(shop=viewer.shop, author=merchandiser_a)
    _draft_retitle(viewer.shop, merchandiser_a, "for-you", "Yours truly")

    response = alice.post("/console/draft/discard/", {"next": "/console/preview/?shopper=face-fan"})

    assert response.status_code == 302
    assert _api_rails(storefront_a, "face-fan") == api_before
    assert _rail(viewer.shop, "for-you").title == "Picked for you"
    assert _html(alice.get("/console/preview/", {"shopper": "face-fan"})).by_id("preview-draft") is None


def test_a_draft_change_that_no_longer_applies_is_shown_as_an_error_and_can_be_removed(alice, served, viewer, merchandiser_a):
    draft = draft_open(shop=served, author=merchandiser_a)
    change = _draft_retitle(served, merchandiser_a, "trending", "Hot this week")
    _draft_retitle(served, merchandiser_a, "for-you", "Yours truly")
    rule_delete(rule=_rail(served, "trending"), actor=None)

    page = _html(alice.get("/console/preview/", {"shopper": "face-fan"}))

    error = page.find(lambda node: node.attrs.get("data-testid") == "draft-error").text()
    assert "Retitle trending to “Hot this week”" in error and "no longer" in error
    assert _rails(page.by_id("preview-live"))

    removed = alice.post(f"/console/preview/changes/{change.pk}/remove/", HTTP_HX_REQUEST="true")

    assert removed.status_code == 200 and json.loads(removed["HX-Trigger"]) == {"draftChanged": {}}
    assert list(draft.changes.values_list("summary", flat=True)) == ["Retitle for-you to “Yours truly”"]
    drafted = _rails(_html(alice.get("/console/preview/", {"shopper": "face-fan"})).by_id("preview-draft"))
    assert drafted[0]["title"] == "Yours truly"


def test_removing_a_change_without_javascript_goes_back_to_the_preview(alice, served, merchandiser_a):
    draft_open(shop=served, author=merchandiser_a)
    change = _draft_retitle(served, merchandiser_a, "trending", "Hot this week")

    response = alice.post(f"/console/preview/changes/{change.pk}/remove/", {"next": "/console/preview/?shopper=x"})

    assert response.status_code == 302 and response["Location"] == "/console/preview/?shopper=x"
    assert not DraftChange.objects.exists()


def test_another_users_or_shops_draft_is_invisible_and_its_changes_cannot_be_removed(
    alice, served, shop_b, merchandiser_a, merchandiser_b
):
    default_rails_ensure(shop=shop_b)
    draft_open(shop=shop_b, author=merchandiser_b)
    theirs = _draft_retitle(shop_b, merchandiser_b, "trending", "Secret sale")

    page = alice.get("/console/preview/", {"draft": "1"}).content.decode()
    assert "Secret sale" not in page and 'id="preview-draft"' not in page
    assert 'data-testid="no-draft"' in page
    assert alice.post(f"/console/preview/changes/{theirs.pk}/remove/").status_code == 404

    draft_open(shop=served, author=merchandiser_a)
    for pk in (theirs.pk, 10**20):
        assert alice.post(f"/console/preview/changes/{pk}/remove/").status_code == 404
    assert alice.post("/console/preview/changes/abc/remove/").status_code == 404
    assert DraftChange.objects.filter(pk=theirs.pk).exists()
    assert alice.get("/console/preview/changes/1/remove/").status_code == 405


def test_page_marks_name_what_moved_between_two_pages():
    items = {name: Item(pk=number, external_id=name, title=name.title()) for number, name in enumerate("abcdef", start=1)}

    def page(*rails):
        return Page(shopper_known=True, personalized=True, rails=[
            PageRail(key=key, title=title, kind="trending",
                     items=[PageItem(item=items[name], slot=slot, rail=key, reason="") for slot, name in enumerate(names, start=1)])
            for key, title, names in rails
        ])

    live = page(("one", "One", "abc"), ("two", "Two", "de"), ("three", "Three", "f"))
    drafted = page(("two", "Second", "ed"), ("one", "One", "ca"), ("four", "Four", "b"))

    marks = page_marks(page=drafted, before=live)

    two, one, four = marks.rails
    assert (two.change, two.by, two.title_before) == ("up", 1, "Two")
    assert [(mark.change, mark.by) for mark in two.items] == [("up", 1), ("down", 1)]
    assert (one.change, one.by, one.title_before) == ("down", 1, "")
    assert [(mark.entry.item.external_id, mark.change, mark.by) for mark in one.items] == [("c", "up", 2), ("a", "down", 1)]
    assert [entry.item.external_id for entry in one.gone] == ["b"]
    assert four.change == "new" and [mark.change for mark in four.items] == [""]
    assert [rail.key for rail in marks.removed] == ["three"] and marks.changed
    assert not page_marks(page=live, before=live).changed
    assert not page_marks(page=live).changed


# Item cards: every preview shows its items as a storefront would.

LONG_TITLE = "Hydrating face cream with hyaluronic acid, ceramides and squalane " * 6


def _cards(scope: Node) -> dict[str, Node]:
    """The cards of the items shown, by item id (not those a draft removes)."""
    return {card.attrs["data-item-id"]: card for card in scope.find_all(lambda node: "data-item-id" in node.attrs)}


def _badges(card: Node) -> list[str]:
    return [badge.text() for badge in card.find_all(lambda node: node.attrs.get("data-testid") == "badge")]


def test_a_card_shows_the_image_price_badges_and_the_whole_title_behind_its_clamp(alice, served, viewer, merchandiser_a):
    perfume = Item.objects.get(shop=served, title="Amber perfume")
    Item.objects.filter(pk=perfume.pk).update(image_url="https://cdn.example.com/amber.jpg", price="39.90", currency="EUR")
    cream = Item.objects.get(shop=served, title="Hydrating face cream")
    Item.objects.filter(pk=cream.pk).update(title=LONG_TITLE, price="12.5", currency="USD")
    rules_change(shop=served, actor=merchandiser_a, operation="pin_create", summary="Pin", rail=_rail(served, "for-you"),
                 item=perfume, slot=1)
    rules_change(shop=served, actor=merchandiser_a, operation="adjustment_create", summary="Boost", target="item",
                 item=cream, multiplier=3)

    cards = _cards(_html(alice.get("/console/preview/", {"shopper": "face-fan"})).by_id("preview-live"))

    pinned, boosted = cards[perfume.external_id], cards[cream.external_id]
    image = pinned.find(lambda node: node.tag == "img")
    assert image.attrs["src"] == "https://cdn.example.com/amber.jpg" and image.attrs["alt"] == ""
    assert pinned.by_class("item-price").text() == "39.90 EUR" and _badges(pinned) == ["Pinned"]
    assert boosted.by_class("item-price").text() == "12.50 USD" and _badges(boosted) == ["Boosted"]
    title = boosted.by_class("item-title")
    assert title.attrs["title"] == LONG_TITLE and title.text() == LONG_TITLE.strip()
    assert boosted.find(lambda node: node.tag == "details").text().count("Boost ×3") == 1
    without_image = [card for card in cards.values() if card is not pinned]
    assert without_image and all(
        card.find(lambda node: node.tag == "img") is None
        and card.find(lambda node: node.tag == "svg").attrs["aria-label"] == "No image" for card in without_image
    )


def test_an_item_without_a_price_says_so_rather_than_showing_an_empty_figure(alice, served, viewer):
    card = next(iter(_cards(_html(alice.get("/console/preview/", {"shopper": "face-fan"}))).values()))
    assert card.by_class("item-price").text() == "No price"


def test_a_draft_marks_items_moved_new_and_removed_in_words_beside_their_colour(alice, served, viewer, merchandiser_a):
    live = next(rail for rail in _rails(_html(alice.get("/console/preview/", {"shopper": "face-fan"}))) if rail["key"] == "for-you")
    shown = [item_id for _, item_id, *_ in live["items"]]
    newcomer = Item.objects.filter(shop=served).exclude(external_id__in=shown).order_by("pk").first()
    draft_open(shop=served, author=merchandiser_a)
    rules_change(shop=served, actor=merchandiser_a, operation="pin_create", summary="Pin a newcomer first",
                 rail=_rail(served, "for-you"), item=newcomer, slot=1)
    rules_change(shop=served, actor=merchandiser_a, operation="block_create", summary="Block the last",
                 item=Item.objects.get(shop=served, external_id=shown[-1]))

    drafted = _html(alice.get("/console/preview/", {"shopper": "face-fan"})).by_id("preview-draft")

    for_you = drafted.find(lambda node: node.attrs.get("data-rail") == "for-you")
    cards = _cards(for_you)
    assert "moved-new" in cards[newcomer.external_id].attrs["class"]
    assert _marks(cards[newcomer.external_id]) == ["new in this rail with your draft"]
    assert "moved-down" in cards[shown[0]].attrs["class"] and _marks(cards[shown[0]]) == ["↓1 moved down 1 slot"]
    removed = for_you.find(lambda node: node.attrs.get("data-gone-item-id") == shown[-1])
    assert "removed" in removed.attrs["class"].split() and _marks(removed) == ["removed from this rail by your draft"]
    assert "data-slot" not in removed.attrs and shown[-1] not in cards  # no longer one of the rail's items
    spoken = [node.text() for node in cards[shown[0]].find_all(lambda node: node.attrs.get("class") == "visually-hidden")]
    assert spoken == ["Slot", "moved down 1 slot"]  # the arrow is hidden from screen readers, its words are not
    live_column = _html(alice.get("/console/preview/", {"shopper": "face-fan"})).by_id("preview-live")
    assert not _marks(live_column) and live_column.find(lambda node: "data-gone-item-id" in node.attrs) is None


def test_a_shopper_who_only_bought_is_told_so_in_the_preview_as_by_the_api(alice, storefront_a, served):
    buyer = ShopperFactory(shop=served, external_id="buyer")
    record(buyer, Item.objects.get(shop=served, title="Vitamin C serum"), EventType.PURCHASE, minutes_ago=5)

    shown = _rails(_html(alice.get("/console/preview/", {"shopper": "buyer"})))

    seeded = next(rail for rail in shown if rail["key"] == "because-you-viewed")
    assert seeded["title"] == "Because you bought Vitamin C serum"
    assert {reason for *_, reason in seeded["items"]} == {"Because you bought Vitamin C serum"}
    assert not [text for rail in shown for text in (rail["title"], *(reason for *_, reason in rail["items"])) if "viewed" in text]
    assert shown == _api_rails(storefront_a, "buyer")


def test_the_rail_and_campaign_previews_show_the_same_cards(alice, served, merchandiser_a):
    lipstick = Item.objects.get(shop=served, title="Plum lipstick")
    Item.objects.filter(pk=lipstick.pk).update(price="8.00", currency="EUR")
    now = timezone.now()
    summer = campaign_create(shop=served, name="Summer", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1))
    rules_change(shop=served, actor=merchandiser_a, operation="adjustment_create", summary="Boost", target="item",
                 item=lipstick, multiplier=3, campaign=summer)

    campaign = _html(alice.get(f"/console/campaigns/{summer.pk}/preview/", HTTP_HX_REQUEST="true"))
    banner_rail = campaign.find(lambda node: node.attrs.get("data-rail") == "campaign")
    card = _cards(banner_rail)[lipstick.external_id]
    assert _badges(card) == ["Boosted", "Campaign"] and card.by_class("item-price").text() == "8.00 EUR"
    assert card.by_class("reason").text() == "Part of Summer"

    trending = _rail(served, "trending")
    rail = _html(alice.get(f"/console/rails/{trending.pk}/preview/",
                           {"diversity": "0.5", "max_per_category": "", "max_per_brand": "", "new_shopper": "on"}, HTTP_HX_REQUEST="true"))
    cards = list(rail.find_all(lambda node: node.attrs.get("data-testid") == "preview-item"))
    assert cards and all("item-card" in card.attrs["class"] and card.by_class("item-price") for card in cards)


def test_an_unknown_shopper_is_told_how_to_see_the_cold_start_page_on_every_preview(alice, served):
    summer = campaign_create(shop=served, name="Summer", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1))
    preview = _html(alice.get("/console/preview/", {"shopper": "nobody"})).by_id("shopper-errors").text()
    campaign = alice.get(f"/console/campaigns/{summer.pk}/preview/",
                         {"preview-at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "preview-shopper": "nobody"},
                         HTTP_HX_REQUEST="true").content.decode()
    for message in (preview, campaign):
        assert "leave the shopper id empty to see it" in message and "New shopper" not in message


def test_the_campaign_preview_of_now_shows_a_rule_made_seconds_ago(alice, served, merchandiser_a):
    now = timezone.now()
    summer = campaign_create(shop=served, name="Summer", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1))
    musk = Item.objects.get(shop=served, title="Musk cologne spray")
    rules_change(shop=served, actor=merchandiser_a, operation="pin_create", summary="Pin", rail=_rail(served, "trending"),
                 item=musk, slot=1, campaign=summer)

    def slot_one(page: Node) -> str:
        trending = page.find(lambda node: node.attrs.get("data-rail") == "trending")
        return trending.find(lambda node: node.attrs.get("data-slot") == "1").attrs["data-item-id"]

    assert slot_one(_html(alice.get(f"/console/campaigns/{summer.pk}/"))) == musk.external_id
    this_minute = timezone.localtime().strftime("%Y-%m-%dT%H:%M")  # what the date input sends back
    again = _html(alice.get(f"/console/campaigns/{summer.pk}/preview/", {"preview-at": this_minute}, HTTP_HX_REQUEST="true"))
    assert slot_one(again) == musk.external_id
    earlier = (timezone.localtime() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    before = _html(alice.get(f"/console/campaigns/{summer.pk}/preview/", {"preview-at": earlier}, HTTP_HX_REQUEST="true"))
    assert slot_one(before) != musk.external_id  # a chosen past minute is still that minute
