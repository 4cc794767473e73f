"""The Campaigns pages: campaigns made and edited through the console, their banner rail and rules, and the
homepage previewed on a chosen date."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Item
from homepage.rules import RailKind
from merchandising.models import Adjustment, AuditEntry, Campaign, Pin, Rail
from merchandising.services import block_create, campaign_create, default_rails_ensure

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LOCAL = "%Y-%m-%dT%H:%M"


def _local(moment) -> str:
    return timezone.localtime(moment).strftime(LOCAL)


@pytest.fixture
def alice(client, merchandiser_a):
    client.force_login(merchandiser_a)
    return client


@pytest.fixture
def summer(alice, pattern_shop) -> Campaign:
    """A campaign made in the console, from in ten days to in twenty."""
    now = timezone.now()
    response = alice.post(
        "/console/campaigns/new/",
        {
            "name": "Summer Glow!", "starts_at": _local(now + timedelta(days=10)), "ends_at": _local(now + timedelta(days=20)),
            "banner_title": "Summer glow week", "banner_link_url": "https://shop.example/summer",
        },
    )
    campaign = Campaign.objects.get(shop=pattern_shop)
    assert response.status_code == 302 and response["Location"] == f"/console/campaigns/{campaign.pk}/"
    return campaign


def _preview(client, campaign, at, shopper: str = "") -> str:
    response = client.get(f"/console/campaigns/{campaign.pk}/preview/", {"preview-at": _local(at), "preview-shopper": shopper}, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def _preview_rails(fragment: str) -> list[str]:
    return re.findall(r'data-rail="([^"]+)"', fragment)


def test_a_campaign_made_in_the_console_is_listed_as_scheduled_and_audit_logged(alice, summer):
    listing = alice.get("/console/campaigns/").content.decode()
    assert "Summer Glow!" in listing and 'data-status="scheduled"' in listing
    entry = AuditEntry.objects.get(action="campaign_create")
    assert entry.user.username == "alice" and entry.before is None and entry.after["name"] == "Summer Glow!"
    detail = alice.get(f"/console/campaigns/{summer.pk}/").content.decode()
    assert "Summer glow week" in detail and 'data-testid="campaign-preview"' in detail


def test_creating_a_campaign_through_htmx_redirects_to_its_page_or_explains_the_mistake(alice, pattern_shop):
    now = timezone.now()
    later, earlier = _local(now + timedelta(days=2)), _local(now + timedelta(days=1))
    refused = alice.post("/console/campaigns/new/", {"name": "Backwards", "starts_at": later, "ends_at": earlier}, **HTMX)
    assert refused.status_code == 200 and "The end must come after the start." in refused.content.decode()
    made = alice.post("/console/campaigns/new/", {"name": "Forwards", "starts_at": earlier, "ends_at": later}, **HTMX)
    assert made["HX-Redirect"] == f"/console/campaigns/{Campaign.objects.get(name='Forwards').pk}/"


def test_editing_a_campaign_logs_before_and_after(alice, summer):
    data = {
        "name": "Summer Glow", "starts_at": _local(summer.starts_at), "ends_at": _local(summer.ends_at),
        "banner_title": "Glow all summer", "banner_link_url": summer.banner_link_url,
    }
    response = alice.post(f"/console/campaigns/{summer.pk}/update/", data, **HTMX)
    assert response.status_code == 200 and "Glow all summer" in response.content.decode()
    entry = AuditEntry.objects.get(action="campaign_update")
    assert entry.before["banner_title"] == "Summer glow week" and entry.after["banner_title"] == "Glow all summer"
    assert entry.before["starts_at"] == entry.after["starts_at"]  # untouched dates are not rewritten


def test_the_preview_shows_the_campaign_banner_inside_its_dates_and_none_before(alice, summer, pattern_shop):
    inside = _preview(alice, summer, summer.starts_at + timedelta(days=2))
    before = _preview(alice, summer, summer.starts_at - timedelta(days=2))

    assert 'data-testid="campaign-banner"' in inside and "Summer glow week" in inside and "Summer Glow! runs then." in inside
    assert "campaign" in _preview_rails(inside)
    assert 'data-testid="campaign-banner"' not in before and "Summer glow week" not in before
    assert "campaign" not in _preview_rails(before) and "for-you" in _preview_rails(before)


def test_a_campaign_boost_fills_its_banner_rail_in_the_preview_with_slots_and_reasons(alice, summer, pattern_shop):
    lipstick = Item.objects.get(shop=pattern_shop, title="Plum lipstick")
    response = alice.post(
        "/console/rules/adjustment/new/",
        {"boost-target": "item", "boost-item": lipstick.external_id, "boost-multiplier": "3",
         "boost-campaign": summer.pk, "keep_campaign": "1"},
        **HTMX,
    )
    assert f'<option value="{summer.pk}" selected>' in response.content.decode()  # the next rule is the campaign's too
    assert Adjustment.objects.get().campaign == summer

    inside = _preview(alice, summer, summer.starts_at + timedelta(hours=1))
    banner_rail = inside[inside.index('data-rail="campaign"'):]
    assert lipstick.external_id in banner_rail[: banner_rail.index("</section>")]
    assert "Part of Summer Glow!" in inside and "Boost ×3 item Plum lipstick" in inside
    assert lipstick.external_id not in _preview(alice, summer, summer.starts_at - timedelta(hours=1)).split('data-rail="for-you"')[0]

    rules = alice.get("/console/rules/lists/", {"campaign": summer.pk}).content.decode()
    assert lipstick.external_id in rules and 'data-status="scheduled"' in rules


def test_the_preview_is_for_a_chosen_shopper_and_explains_bad_input(alice, summer, pattern_shop):
    shopper = pattern_shop.shoppers.order_by("pk").first()
    page = _preview(alice, summer, summer.starts_at + timedelta(days=1), shopper=shopper.external_id)
    assert f"shopper <code>{shopper.external_id}</code>" in page
    for query in (
        {"preview-at": "not a date"}, {"preview-at": "2024-02-30T10:00"}, {"preview-at": "\x00"}, {"preview-at": ""},
        {"preview-at": _local(summer.starts_at), "preview-shopper": "nobody"},
        {"preview-at": _local(summer.starts_at), "preview-shopper": "\x00"},
    ):
        response = alice.get(f"/console/campaigns/{summer.pk}/preview/", query, **HTMX)
        assert response.status_code == 200 and 'class="errorlist' in response.content.decode(), query
        assert alice.get(f"/console/campaigns/{summer.pk}/", query).status_code == 200, query


def test_one_click_makes_a_banner_rail_keyed_after_the_name_and_unique(alice, summer, pattern_shop):
    twin = campaign_create(shop=pattern_shop, name="Summer glow", starts_at=summer.starts_at, ends_at=summer.ends_at)

    first = alice.post(f"/console/campaigns/{summer.pk}/rail/", **HTMX)
    second = alice.post(f"/console/campaigns/{twin.pk}/rail/", **HTMX)

    assert first.status_code == 200 and "<code>summer-glow</code>" in first.content.decode()
    assert "rulesChanged" in first["HX-Trigger"]
    assert Rail.objects.get(shop=pattern_shop, key="summer-glow").campaign == summer
    rail = Rail.objects.get(shop=pattern_shop, key="summer-glow-2")
    assert rail.campaign == twin and rail.kind == RailKind.CAMPAIGN and "<code>summer-glow-2</code>" in second.content.decode()
    assert AuditEntry.objects.filter(action="rail_create").count() == 2
    inside = _preview(alice, summer, summer.starts_at + timedelta(hours=1))
    assert "summer-glow" in _preview_rails(inside)


def test_a_pin_added_on_the_campaign_page_belongs_to_the_campaign(alice, summer, pattern_shop):
    item = Item.objects.filter(shop=pattern_shop).first()
    rail = next(rail for rail in default_rails_ensure(shop=pattern_shop) if rail.key == "for-you")
    response = alice.post(
        f"/console/campaigns/{summer.pk}/pins/new/",
        {"pin-rail": rail.pk, "pin-item": item.external_id, "pin-slot": "2"},
        **HTMX,
    )
    assert response.status_code == 200 and "Pinned" in response.content.decode()
    pin = Pin.objects.get()
    assert pin.campaign == summer and pin.slot == 2
    assert item.external_id in alice.get(f"/console/campaigns/{summer.pk}/pins/").content.decode()
    for data in ({"pin-rail": "abc", "pin-item": item.external_id, "pin-slot": "1"},
                 {"pin-rail": rail.pk, "pin-item": "nope", "pin-slot": "0"},
                 {"pin-rail": rail.pk, "pin-item": "\x00", "pin-slot": "\x00"}):
        assert alice.post(f"/console/campaigns/{summer.pk}/pins/new/", data, **HTMX).status_code == 200
        assert alice.post(f"/console/campaigns/{summer.pk}/pins/new/", data).status_code == 400
    assert Pin.objects.count() == 1


def test_a_campaign_made_in_a_draft_takes_pins_in_the_draft_and_goes_live_with_them(alice, pattern_shop, storefront_a):
    alice.post("/console/draft/start/")
    listing = alice.get("/console/campaigns/").content.decode()
    assert 'data-testid="campaign-draft-note"' in listing and 'data-testid="campaign-form"' in listing
    now = timezone.now()
    made = alice.post(
        "/console/campaigns/new/",
        {"name": "Flash", "starts_at": _local(now - timedelta(hours=1)), "ends_at": _local(now + timedelta(days=1)),
         "banner_title": "Flash sale"},
        **HTMX,
    )
    pk = int(re.fullmatch(r"/console/campaigns/(\d+)/", made["HX-Redirect"]).group(1))
    assert not Campaign.objects.exists()  # kept in the draft
    assert "Flash sale" in alice.get(f"/console/campaigns/{pk}/").content.decode()  # its page, through the draft
    rail = next(rail for rail in default_rails_ensure(shop=pattern_shop) if rail.key == "for-you")
    item = Item.objects.filter(shop=pattern_shop).first()
    pinned = alice.post(f"/console/campaigns/{pk}/pins/new/", {"pin-rail": rail.pk, "pin-item": item.external_id, "pin-slot": "1"}, **HTMX)
    assert pinned.status_code == 200 and not Pin.objects.exists()
    served = storefront_a.get("/api/v1/homepage/newcomer").json()
    assert not any(rail.get("banner") for rail in served["rails"])

    alice.post("/console/draft/publish/")

    campaign = Campaign.objects.get(pk=pk)  # the id the draft showed
    assert campaign.name == "Flash" and Pin.objects.get().campaign == campaign
    served = storefront_a.get("/api/v1/homepage/newcomer").json()
    assert [rail["banner"]["title"] for rail in served["rails"] if rail.get("banner")] == ["Flash sale"]
    for_you = next(rail for rail in served["rails"] if rail["key"] == "for-you")
    assert for_you["items"][0]["item_id"] == item.external_id


def test_draft_mode_keeps_edits_off_the_live_campaign(alice, summer, pattern_shop, storefront_a):
    alice.post("/console/draft/start/")
    now = timezone.now()
    data = {"name": "Summer Glow!", "starts_at": _local(now - timedelta(days=1)), "ends_at": _local(now + timedelta(days=1)),
            "banner_title": "Summer glow week", "banner_link_url": summer.banner_link_url}
    edited = alice.post(f"/console/campaigns/{summer.pk}/update/", data, **HTMX)
    assert "Kept in your draft" in edited.content.decode()
    assert Campaign.objects.get(pk=summer.pk).starts_at == summer.starts_at
    drafted = _preview(alice, summer, now)
    assert "with your draft" in drafted and "Summer Glow! runs then." in drafted and 'data-testid="campaign-banner"' in drafted
    served = storefront_a.get("/api/v1/homepage/newcomer").json()
    assert not any(rail.get("banner") for rail in served["rails"])  # live: the campaign has not started

    alice.post("/console/draft/publish/")
    served = storefront_a.get("/api/v1/homepage/newcomer").json()
    assert [rail["banner"]["title"] for rail in served["rails"] if rail.get("banner")] == ["Summer glow week"]


def test_hostile_campaign_input_gets_a_form_error_never_a_500(alice, pattern_shop):
    now = timezone.now()
    good = {"name": "Fine", "starts_at": _local(now), "ends_at": _local(now + timedelta(days=1))}
    hostile = [
        {**good, "name": "\x00"},
        {**good, "name": ""},
        {**good, "name": "x" * 500},
        {**good, "starts_at": "2024-13-45T10:00"},
        {**good, "ends_at": "\x00"},
        {**good, "ends_at": good["starts_at"]},
        {**good, "banner_image_url": "javascript:alert(1)"},
        {**good, "banner_link_url": "http://\x00"},
    ]
    for data in hostile:
        assert alice.post("/console/campaigns/new/", data, **HTMX).status_code == 200, data
        assert alice.post("/console/campaigns/new/", data).status_code == 400, data
    assert not Campaign.objects.exists()


def test_another_shops_campaign_is_a_404_everywhere(alice, pattern_shop, shop_b):
    theirs = campaign_create(shop=shop_b, name="B only", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1))
    assert "B only" not in alice.get("/console/campaigns/").content.decode()
    for url in ("", "pins/", "preview/"):
        assert alice.get(f"/console/campaigns/{theirs.pk}/{url}").status_code == 404, url
    for url in ("update/", "rail/", "pins/new/"):
        assert alice.post(f"/console/campaigns/{theirs.pk}/{url}", {"name": "Taken"}, **HTMX).status_code == 404, url
    assert alice.get("/console/campaigns/99999999999999999999/").status_code == 404
    assert Campaign.objects.get(pk=theirs.pk).name == "B only" and not Rail.objects.filter(campaign=theirs).exists()


def test_a_rule_made_seconds_ago_shows_in_the_preview_of_the_minute_under_way(alice, pattern_shop):
    now = timezone.now()
    running = campaign_create(shop=pattern_shop, name="Running", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    default_rails_ensure(shop=pattern_shop)
    lipstick = Item.objects.get(shop=pattern_shop, title="Plum lipstick")
    assert "Plum lipstick" in _preview(alice, running, now)

    block_create(shop=pattern_shop, item=lipstick, starts_at=timezone.now())

    # The date input names the minute only, the one under way: it stands for now, not for its first second.
    assert "Plum lipstick" not in _preview(alice, running, timezone.now().replace(second=0, microsecond=0))
