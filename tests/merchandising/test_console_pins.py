"""The Pins page: a pin made in the console holds its slot in what the storefront API serves."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Item
from merchandising.models import AuditEntry, Pin
from merchandising.services import default_rails_ensure, draft_open, pin_create
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def perfume(pattern_shop) -> Item:
    return Item.objects.get(shop=pattern_shop, title="Amber perfume")


def served(storefront, rail_key: str) -> dict[int, str]:
    """Slot → item id of one rail of a new shopper's homepage."""
    response = storefront.get("/api/v1/homepage/new-shopper")
    assert response.status_code == 200
    rail = next(rail for rail in response.json()["rails"] if rail["key"] == rail_key)
    return {entry["slot"]: entry["item_id"] for entry in rail["items"]}


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_pin_made_in_the_console_holds_its_slot_in_the_api_homepage(console_a, storefront_a, for_you, perfume, merchandiser_a):
    assert served(storefront_a, "for-you").get(3) != perfume.external_id
    response = console_a.post(
        "/console/pins/new/",
        {"rail": for_you.pk, "item": perfume.external_id, "slot": "3", "starts_at": "", "ends_at": "", "note": "Launch"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "rulesChanged" in response["HX-Trigger"]
    body = response.content.decode()
    assert 'id="pin-list" class="pins-table" hx-swap-oob="true"' in body and "Amber perfume" in body
    assert served(storefront_a, "for-you")[3] == perfume.external_id
    entry = AuditEntry.objects.get(action="pin_create")
    assert entry.user == merchandiser_a and entry.after["slot"] == 3
    page = console_a.get("/console/pins/").content.decode()
    assert "Launch" in page and 'data-testid="pin-status">live<' in page
    assert 'data-testid="pin-unavailable"' not in page


def test_a_pin_of_an_unavailable_item_is_flagged_and_leaves_its_slot_to_the_ranking(console_a, storefront_a, for_you, perfume):
    pin_create(rail=for_you, item=perfume, slot=1)
    Item.objects.filter(pk=perfume.pk).update(available=False)
    page = console_a.get("/console/pins/").content.decode()
    assert 'data-testid="pin-unavailable"' in page and "leaves its slot to the ranking" in page
    assert perfume.external_id not in served(storefront_a, "for-you").values()


def test_a_scheduled_pin_is_listed_as_such_and_not_served_before_its_start(console_a, storefront_a, for_you, perfume):
    tomorrow = timezone.now() + timedelta(days=1)
    response = console_a.post(
        "/console/pins/new/", {"rail": for_you.pk, "item": perfume.external_id, "slot": "2", "starts_at": local(tomorrow)}
    )
    assert response.status_code == 302
    page = console_a.get("/console/pins/").content.decode()
    assert 'data-testid="pin-status">scheduled<' in page
    assert served(storefront_a, "for-you").get(2) != perfume.external_id


def test_editing_a_pin_swaps_its_row_and_moves_it_in_the_api(console_a, storefront_a, for_you, perfume):
    pin = pin_create(rail=for_you, item=perfume, slot=1)
    form = console_a.get(f"/console/pins/{pin.pk}/edit/", **HTMX).content.decode()
    assert f'id="pin-{pin.pk}" class="pin-editing"' in form and 'type="datetime-local"' in form
    response = console_a.post(
        f"/console/pins/{pin.pk}/edit/", {"slot": "4", "starts_at": local(pin.starts_at), "ends_at": ""}, **HTMX
    )
    assert response.status_code == 200 and "rulesChanged" in response["HX-Trigger"]
    assert f'<tr id="pin-{pin.pk}" class="pin-live"' in response.content.decode()
    assert Pin.objects.get(pk=pin.pk).slot == 4
    assert served(storefront_a, "for-you")[4] == perfume.external_id
    entry = AuditEntry.objects.get(action="pin_update")
    assert (entry.before["slot"], entry.after["slot"]) == (1, 4)


def test_removing_a_pin_swaps_its_row_out_and_gives_the_slot_back(console_a, storefront_a, for_you, perfume):
    pin = pin_create(rail=for_you, item=perfume, slot=2)
    response = console_a.delete(f"/console/pins/{pin.pk}/delete/", **HTMX)
    assert response.status_code == 200 and response.content == b""
    assert not Pin.objects.filter(pk=pin.pk).exists()
    assert AuditEntry.objects.filter(action="pin_delete").exists()
    assert served(storefront_a, "for-you").get(2) != perfume.external_id
    again = pin_create(rail=for_you, item=perfume, slot=2)
    assert console_a.post(f"/console/pins/{again.pk}/delete/").status_code == 302  # without htmx too
    assert not Pin.objects.exists()


def test_in_draft_mode_a_pin_waits_for_publish(console_a, storefront_a, merchandiser_a, for_you, perfume):
    draft_open(shop=for_you.shop, author=merchandiser_a)
    response = console_a.post("/console/pins/new/", {"rail": for_you.pk, "item": perfume.external_id, "slot": "2"}, **HTMX)
    assert response.status_code == 200 and "draftChanged" in response["HX-Trigger"]
    assert "in your draft" in response.content.decode()  # listed, but only the draft holds it
    assert not Pin.objects.exists() and served(storefront_a, "for-you").get(2) != perfume.external_id
    console_a.post("/console/draft/publish/")
    assert served(storefront_a, "for-you")[2] == perfume.external_id


def test_a_pin_made_in_a_draft_is_edited_in_the_draft_and_published_as_edited(console_a, storefront_a, merchandiser_a, for_you, perfume):
    draft = draft_open(shop=for_you.shop, author=merchandiser_a)
    console_a.post("/console/pins/new/", {"rail": for_you.pk, "item": perfume.external_id, "slot": "2"}, **HTMX)
    pk = draft.changes.get().made_pk

    form = console_a.get(f"/console/pins/{pk}/edit/", **HTMX)
    assert form.status_code == 200 and f'id="pin-{pk}" class="pin-editing"' in form.content.decode()
    moved = console_a.post(f"/console/pins/{pk}/edit/", {"slot": "5", "starts_at": "", "ends_at": ""}, **HTMX)
    assert moved.status_code == 200 and "draftChanged" in moved["HX-Trigger"]
    assert f'<tr id="pin-{pk}"' in moved.content.decode() and "in your draft" in moved.content.decode()
    assert not Pin.objects.exists() and draft.changes.count() == 2

    console_a.post("/console/draft/publish/")
    pin = Pin.objects.get()
    assert (pin.pk, pin.slot) == (pk, 5)
    assert served(storefront_a, "for-you")[5] == perfume.external_id


def test_a_pin_made_in_a_draft_and_removed_in_it_is_never_published(console_a, merchandiser_a, for_you, perfume):
    draft = draft_open(shop=for_you.shop, author=merchandiser_a)
    console_a.post("/console/pins/new/", {"rail": for_you.pk, "item": perfume.external_id, "slot": "2"}, **HTMX)
    pk = draft.changes.get().made_pk

    assert console_a.post(f"/console/pins/{pk}/delete/", **HTMX).status_code == 200
    assert f'id="pin-{pk}"' not in console_a.get("/console/pins/").content.decode()

    console_a.post("/console/draft/publish/")
    assert not Pin.objects.exists()


HOSTILE_CREATE = [
    {"slot": "0"}, {"slot": "abc"}, {"slot": "99"}, {"slot": "-1"}, {"slot": ""}, {"slot": "1e99"},
    {"item": "no-such-item"}, {"item": ""}, {"item": "nul\x00"}, {"rail": "abc"}, {"rail": "99999999"}, {"rail": ""},
    {"starts_at": "not a date"}, {"ends_at": "2026-13-45T99:99"}, {"ends_at": "2001-01-01T00:00"},
    {"starts_at": "2031-01-02T00:00", "ends_at": "2031-01-01T00:00"}, {"note": "x" * 400}, {"note": "nul\x00"},
]

HOSTILE_EDIT = [
    {"slot": "0"}, {"slot": "abc"}, {"slot": "\x00"}, {"starts_at": "yesterday"},
    {"starts_at": "2031-01-02T00:00", "ends_at": "2031-01-01T00:00"},
]


@pytest.mark.parametrize("htmx", [True, False])
def test_hostile_input_gets_messages_beside_the_fields_never_a_500(console_a, for_you, perfume, shop_b, htmx):
    headers = HTMX if htmx else {}
    foreign_item = ItemFactory(shop=shop_b, external_id="foreign")
    foreign_rail = default_rails_ensure(shop=shop_b)[0]
    valid = {"rail": for_you.pk, "item": perfume.external_id, "slot": "2", "starts_at": "", "ends_at": "", "note": ""}
    for hostile in [*HOSTILE_CREATE, {"item": foreign_item.external_id}, {"rail": foreign_rail.pk}]:
        response = console_a.post("/console/pins/new/", valid | hostile, **headers)
        assert response.status_code == 400, hostile
        assert 'class="errorlist' in response.content.decode(), hostile
    assert not Pin.objects.exists()
    pin = pin_create(rail=for_you, item=perfume, slot=1)
    unchanged = {"slot": "1", "starts_at": "", "ends_at": ""}
    for hostile in HOSTILE_EDIT:
        response = console_a.post(f"/console/pins/{pin.pk}/edit/", unchanged | hostile, **headers)
        assert response.status_code == 400, hostile
        assert 'class="errorlist' in response.content.decode(), hostile
    assert Pin.objects.get(pk=pin.pk).slot == 1
    assert console_a.post("/console/pins/99999999/edit/", {"slot": "2"}, **headers).status_code == 404
    assert console_a.post("/console/pins/99999999/delete/", **headers).status_code == 404
    assert console_a.get("/console/pins/99999999/edit/", **headers).status_code == 404


def test_another_shops_merchandiser_neither_sees_nor_edits_these_pins(client, console_a, merchandiser_b, for_you, perfume):
    pin = pin_create(rail=for_you, item=perfume, slot=1, note="Shop A's secret")
    client.force_login(merchandiser_b)
    page = client.get("/console/pins/").content.decode()
    assert "Shop A's secret" not in page and "Amber perfume" not in page and f'value="{for_you.pk}"' not in page
    assert client.get(f"/console/pins/{pin.pk}/edit/").status_code == 404
    assert client.get(f"/console/pins/{pin.pk}/", **HTMX).status_code == 404
    assert client.post(f"/console/pins/{pin.pk}/edit/", {"slot": "5"}).status_code == 404
    assert client.post(f"/console/pins/{pin.pk}/delete/").status_code == 404
    assert client.delete(f"/console/pins/{pin.pk}/delete/", **HTMX).status_code == 404
    response = client.post("/console/pins/new/", {"rail": for_you.pk, "item": perfume.external_id, "slot": "2"})
    assert response.status_code == 400  # shop A's rail and item are no choices of shop B's form
    assert Pin.objects.get().slot == 1 and Pin.objects.count() == 1
