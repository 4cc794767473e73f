"""The Boosts, buries & blocks page: rules made there change what the storefront API serves, every change is
audit-logged, draft mode keeps them off the live page, and no input gives a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Item
from merchandising.models import Adjustment, AuditEntry, Block, Campaign
from merchandising.selectors import open_draft
from merchandising.services import adjustment_create, block_create, campaign_create

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _served(storefront, *, rails: str = "", size: int = 3) -> dict[str, list[str]]:
    query = f"?size={size}" + (f"&rails={rails}" if rails else "")
    response = storefront.get(f"/api/v1/homepage/newcomer{query}")
    assert response.status_code == 200, response.content
    return {rail["key"]: [item["item_id"] for item in rail["items"]] for rail in response.json()["rails"]}


def _all_served(storefront) -> set[str]:
    return {item for items in _served(storefront, size=12).values() for item in items}


def _boost(client, item, multiplier="50", **fields):
    data = {"boost-target": "item", "boost-item": item.external_id, "boost-multiplier": multiplier}
    return client.post("/console/rules/adjustment/new/", {**data, **fields}, **HTMX)


def _block(client, item, **fields):
    return client.post("/console/rules/block/new/", {"block-target": "item", "block-item": item.external_id, **fields}, **HTMX)


@pytest.fixture
def alice(client, merchandiser_a):
    client.force_login(merchandiser_a)
    return client


def test_a_boost_made_in_the_console_lifts_the_item_to_the_top_of_the_storefront_rail(alice, pattern_shop, storefront_a):
    before = _served(storefront_a, rails="for-you")["for-you"]
    outsider = Item.objects.filter(shop=pattern_shop).exclude(external_id__in=before).order_by("pk").last()

    response = _boost(alice, outsider, "50")

    assert response.status_code == 200
    assert "Live now: Boost ×50 item" in response.content.decode()
    assert "rulesChanged" in response["HX-Trigger"] and "ruleCreated" in response["HX-Trigger"]
    assert _served(storefront_a, rails="for-you")["for-you"][0] == outsider.external_id
    entry = AuditEntry.objects.get(shop=pattern_shop, action="adjustment_create")
    assert entry.user.username == "alice" and entry.before is None
    assert entry.after["multiplier"] == 50 and entry.after["item"] == outsider.pk
    listed = alice.get("/console/rules/lists/").content.decode()
    assert outsider.external_id in listed and 'data-status="live"' in listed


def test_a_block_takes_the_item_off_the_page_and_ending_it_brings_it_back(alice, pattern_shop, storefront_a):
    top = _served(storefront_a, rails="for-you")["for-you"][0]
    item = Item.objects.get(shop=pattern_shop, external_id=top)

    assert _block(alice, item).status_code == 200
    assert top not in _all_served(storefront_a)

    block = Block.objects.get(shop=pattern_shop)
    row = alice.post(f"/console/rules/block/{block.pk}/end/", **HTMX)
    assert row.status_code == 200
    assert 'data-status="ended"' in row.content.decode() and "rulesChanged" in row["HX-Trigger"]
    assert _served(storefront_a, rails="for-you")["for-you"][0] == top
    entry = AuditEntry.objects.get(shop=pattern_shop, action="block_end")
    assert entry.before["ends_at"] is None and entry.after["ends_at"] is not None


def test_removing_a_rule_swaps_its_row_out_and_logs_what_it_was(alice, pattern_shop, merchandiser_a):
    item = Item.objects.filter(shop=pattern_shop).first()
    bury = adjustment_create(shop=pattern_shop, target="item", item=item, multiplier=0.2, actor=merchandiser_a)

    response = alice.post(f"/console/rules/adjustment/{bury.pk}/delete/", **HTMX)

    assert response.status_code == 200 and response.content == b""
    assert not Adjustment.objects.filter(pk=bury.pk).exists()
    entry = AuditEntry.objects.get(shop=pattern_shop, action="adjustment_delete")
    assert entry.before["multiplier"] == 0.2 and entry.after is None


def test_editing_a_rule_changes_only_what_was_changed_and_logs_before_and_after(alice, pattern_shop, merchandiser_a):
    item = Item.objects.filter(shop=pattern_shop).first()
    boost = adjustment_create(shop=pattern_shop, target="item", item=item, multiplier=2, actor=merchandiser_a)
    edit = alice.get(f"/console/rules/adjustment/{boost.pk}/edit/").content.decode()
    assert f'name="adjustment-{boost.pk}-multiplier"' in edit
    prefix = f"adjustment-{boost.pk}"
    starts_at = timezone.localtime(boost.starts_at).strftime("%Y-%m-%dT%H:%M")

    row = alice.post(
        f"/console/rules/adjustment/{boost.pk}/update/",
        {f"{prefix}-multiplier": "3.5", f"{prefix}-starts_at": starts_at, f"{prefix}-ends_at": "", f"{prefix}-note": ""},
        **HTMX,
    )

    assert row.status_code == 200 and "Boost ×3.5" in row.content.decode()
    entry = AuditEntry.objects.get(shop=pattern_shop, action="adjustment_update")
    assert entry.before["multiplier"] == 2 and entry.after["multiplier"] == 3.5
    assert entry.before["starts_at"] == entry.after["starts_at"]  # the unchanged start kept its seconds


def test_the_form_explains_each_mistake_beside_its_field(alice, pattern_shop):
    item = Item.objects.filter(shop=pattern_shop).first()
    cases = [
        ({"boost-target": "category", "boost-multiplier": "2"}, "Name a category to target."),
        ({"boost-target": "attribute", "boost-attribute_key": "shade", "boost-multiplier": "2"}, "Name its value to target."),
        ({"boost-target": "item", "boost-item": item.external_id, "boost-multiplier": "abc"}, "Enter a number such as 1.5"),
        ({"boost-target": "item", "boost-item": item.external_id, "boost-multiplier": "0"}, "At least 0.01"),
        ({"boost-target": "item", "boost-item": item.external_id, "boost-multiplier": "101"}, "At most 100."),
        ({"boost-target": "item", "boost-item": "nope", "boost-multiplier": "2"}, "No item with id “nope” in this shop"),
        (
            {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "2",
             "boost-starts_at": "2030-05-02T10:00", "boost-ends_at": "2030-05-01T10:00"},
            "The end must come after the start.",
        ),
        (
            {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "2", "boost-ends_at": "2001-01-01T00:00"},
            "The end must be in the future",
        ),
    ]
    for data, message in cases:
        response = alice.post("/console/rules/adjustment/new/", data, **HTMX)
        assert response.status_code == 200
        assert message in response.content.decode(), data
    block = alice.post("/console/rules/block/new/", {"block-target": "brand"}, **HTMX).content.decode()
    assert "Name a brand to target." in block
    assert not Adjustment.objects.exists() and not Block.objects.exists()


def test_hostile_input_gets_a_form_error_or_a_404_never_a_500(alice, pattern_shop, shop_b):
    foreign = campaign_create(
        shop=shop_b, name="B's sale", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1)
    )
    hostile = [
        {"boost-target": "item\x00", "boost-item": "x\x00", "boost-multiplier": "2"},
        {"boost-target": "brand", "boost-brand": "Makeup\x00", "boost-multiplier": "2\x00"},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "nan"},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "1e999"},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "-1"},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "2", "boost-starts_at": "2024-02-30T10:00"},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "2", "boost-ends_at": "99999-01-01T00:00"},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "2", "boost-starts_at": "\x00"},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "2", "boost-campaign": "abc"},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "2", "boost-campaign": str(foreign.pk)},
        {"boost-target": "brand", "boost-brand": "Makeup", "boost-multiplier": "2", "boost-campaign": "9" * 30},
        {"boost-target": "bogus", "boost-multiplier": "2"},
        {"boost-target": "brand", "boost-brand": "x" * 5000, "boost-multiplier": "2"},
    ]
    for data in hostile:
        assert alice.post("/console/rules/adjustment/new/", data, **HTMX).status_code == 200, data
        assert alice.post("/console/rules/adjustment/new/", data).status_code == 400, data
    assert alice.post("/console/rules/block/new/", {"block-target": "attribute", "block-item": "\x00"}).status_code == 400
    assert not Adjustment.objects.exists() and not Block.objects.exists()
    for url in (
        "/console/rules/bogus/new/", "/console/rules/bogus/1/end/", "/console/rules/block/99999999999999999999/end/",
        "/console/rules/adjustment/1/delete/",
    ):
        assert alice.post(url, **HTMX).status_code == 404, url
    for query in ("abc", "\x00", "²", "9" * 30, str(foreign.pk)):
        assert alice.get("/console/rules/lists/", {"campaign": query}).status_code == 404, query
    boost = adjustment_create(shop=pattern_shop, target="brand", brand="Makeup", multiplier=2)
    prefix = f"adjustment-{boost.pk}"
    for data in (
        {f"{prefix}-multiplier": "\x00", f"{prefix}-starts_at": "yesterday"},
        {f"{prefix}-multiplier": "inf", f"{prefix}-starts_at": ""},
        {f"{prefix}-multiplier": "2", f"{prefix}-starts_at": "2030-01-02T00:00", f"{prefix}-ends_at": "2030-01-01T00:00"},
        {},
    ):
        row = alice.post(f"/console/rules/adjustment/{boost.pk}/update/", data, **HTMX)
        assert row.status_code == 200 and 'class="errorlist' in row.content.decode(), data
    assert Adjustment.objects.get(pk=boost.pk).multiplier == 2


def test_another_shops_rules_are_not_listed_and_cannot_be_touched(alice, pattern_shop, shop_b):
    from tests.factories import ItemFactory

    theirs = block_create(shop=shop_b, item=ItemFactory(shop=shop_b, external_id="B-ONLY", title="Shop B's secret"))
    assert "B-ONLY" not in alice.get("/console/rules/").content.decode()
    for url in ("", "edit/"):
        assert alice.get(f"/console/rules/block/{theirs.pk}/{url}").status_code == 404
    for url in ("update/", "end/", "delete/"):
        assert alice.post(f"/console/rules/block/{theirs.pk}/{url}", **HTMX).status_code == 404
    assert Block.objects.get(pk=theirs.pk).ends_at is None


def test_a_rule_that_has_not_started_is_removed_not_ended(alice, pattern_shop, merchandiser_a):
    later = block_create(shop=pattern_shop, brand="Makeup", starts_at=timezone.now() + timedelta(days=2), actor=merchandiser_a)
    row = alice.post(f"/console/rules/block/{later.pk}/end/", **HTMX).content.decode()
    assert 'data-status="scheduled"' in row and "has not started: remove it instead" in row and "End now" not in row
    assert Block.objects.get(pk=later.pk).ends_at is None


def test_draft_mode_keeps_new_rules_and_ends_off_the_live_page_until_published(alice, pattern_shop, storefront_a, merchandiser_a):
    top = _served(storefront_a, rails="for-you")["for-you"][0]
    item = Item.objects.get(shop=pattern_shop, external_id=top)
    bury = adjustment_create(shop=pattern_shop, target="brand", brand="Fragrance", multiplier=0.5, actor=merchandiser_a)
    alice.post("/console/draft/start/")

    created = _block(alice, item)
    ended = alice.post(f"/console/rules/adjustment/{bury.pk}/end/", **HTMX)

    assert "Kept in your draft" in created.content.decode() and "draftChanged" in created["HX-Trigger"]
    assert 'data-status="ended"' in ended.content.decode()  # as the draft leaves it
    assert not Block.objects.exists() and Adjustment.objects.get(pk=bury.pk).ends_at is None
    assert top in _served(storefront_a, rails="for-you")["for-you"]
    listed = alice.get("/console/rules/").content.decode()
    assert "in your draft" in listed and item.external_id in listed

    assert alice.post("/console/draft/publish/").status_code == 302
    assert top not in _all_served(storefront_a)
    assert Adjustment.objects.get(pk=bury.pk).ends_at is not None
    assert AuditEntry.objects.filter(shop=pattern_shop, action__in=["block_create", "adjustment_end", "draft_publish"]).count() == 3


def test_the_page_offers_the_shops_categories_and_brands_and_a_campaign_choice(alice, pattern_shop, shop_b):
    from tests.factories import ItemFactory

    ItemFactory(shop=shop_b, category_path="Secret > Shelf", brand="Hidden")
    campaign_create(shop=pattern_shop, name="Spring", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=3))
    page = alice.get("/console/rules/").content.decode()
    for value in ('<option value="Makeup">', '<option value="Makeup &gt; Lips">', '<option value="Fragrance">', ">Spring</option>"):
        assert value in page
    assert "Secret" not in page and "Hidden" not in page
    assert Campaign.objects.filter(shop=shop_b).count() == 0


def test_a_boost_made_in_a_draft_is_edited_and_sampled_in_the_draft(alice, pattern_shop, storefront_a, merchandiser_a):
    item = Item.objects.filter(shop=pattern_shop).last()
    alice.post("/console/draft/start/")
    _boost(alice, item, multiplier="2")
    pk = open_draft(shop=pattern_shop, user=merchandiser_a).changes.get().made_pk
    prefix = f"adjustment-{pk}"

    edit = alice.get(f"/console/rules/adjustment/{pk}/edit/", **HTMX)
    assert edit.status_code == 200 and f'name="{prefix}-multiplier"' in edit.content.decode()
    starts_at = timezone.localtime(timezone.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    row = alice.post(
        f"/console/rules/adjustment/{pk}/update/",
        {f"{prefix}-multiplier": "50", f"{prefix}-starts_at": starts_at, f"{prefix}-ends_at": "", f"{prefix}-note": ""},
        **HTMX,
    )
    assert row.status_code == 200 and "Boost ×50" in row.content.decode() and "in your draft" in row.content.decode()
    assert alice.get(f"/console/rules/adjustment/{pk}/impact/").status_code == 200
    assert not Adjustment.objects.exists()

    alice.post("/console/draft/publish/")
    boost = Adjustment.objects.get()
    assert (boost.pk, boost.multiplier) == (pk, 50)
    assert _served(storefront_a, rails="for-you")["for-you"][0] == item.external_id
