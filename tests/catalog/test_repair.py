"""Rows written around the API: the admin lists what it can and says what it hides; repair_data repairs them."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Event, EventType, Item, Shopper
from tests.catalog.bad_rows import MINUS_INFINITY, OUT_OF_WINDOW, YEAR_1_BC, event_plant
from tests.factories import EventFactory, ItemFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def damaged(shop_a, shop_b):
    """Shop A with a plausible event and every kind of bad row; shop B with one bad event of its own."""
    shopper = ShopperFactory(shop=shop_a, external_id="s-1")
    item = ItemFactory(shop=shop_a, external_id="lipstick")
    EventFactory(shopper=shopper, item=item, event_id="good", value=2.0)
    for occurred_at in OUT_OF_WINDOW:
        event_plant(shopper=shopper, item=item, occurred_at=occurred_at)
    event_plant(shopper=shopper, item=ItemFactory(shop=shop_b))  # another shop's item
    for value in ("NaN", "Infinity", "-Infinity", "1e300"):
        event_plant(shopper=shopper, item=item, value=value)
    event_plant(shopper=shopper, item=item, kind=EventType.RATING, value="7")  # ratings are 0 to 5
    event_plant(shopper=shopper, item=item, kind=EventType.RATING, value="4")  # a fine rating
    ItemFactory(shop=shop_a, external_id="lip stick/red")
    ShopperFactory(shop=shop_a, external_id="ana lópez")
    event_plant(shopper=ShopperFactory(shop=shop_b), item=ItemFactory(shop=shop_b), occurred_at=YEAR_1_BC)
    return shop_a


def test_the_admin_event_list_shows_the_readable_events_and_counts_the_others(admin_client, damaged):
    response = admin_client.get("/admin/catalog/event/")

    assert response.status_code == 200
    listed = response.context["cl"].result_list
    assert "good" in {event.event_id for event in listed}
    assert len(listed) == Event.objects.count() - len(OUT_OF_WINDOW) - 1
    warnings = [str(message) for message in response.context["messages"]]
    assert any(f"{len(OUT_OF_WINDOW) + 1} event(s) dated outside" in warning and "repair_data" in warning for warning in warnings)
    assert admin_client.get("/admin/catalog/event/", {"occurred_at__year": "2000"}).status_code == 200


def test_a_dry_run_reports_per_shop_and_changes_nothing(damaged, capsys):
    def stored():
        return sorted(f"{event_id}={value}" for event_id, value in Event.objects.values_list("event_id", "value"))  # NaN != NaN

    before = stored()

    call_command("repair_data", "--dry-run")

    out = capsys.readouterr().out
    assert f"shop-a: {len(OUT_OF_WINDOW)} event(s) dated outside 2000-01-01 00:00 to " in out
    assert "would be deleted" in out and "would be set to null" in out
    assert "shop-a: 1 event(s) naming another shop's item or shopper: would be deleted" in out
    assert "shop-a: 5 event value(s) NaN, infinite or out of range: would be set to null" in out
    assert "shop-a: 1 item id(s)" in out and "'lip stick/red'" in out
    assert "shop-a: 1 shopper id(s)" in out and "'ana lópez'" in out
    assert "shop-b: 1 event(s) dated outside" in out
    assert stored() == before


def test_repair_deletes_events_out_of_the_window_and_nulls_bad_values_in_one_shop_only(damaged, capsys):
    call_command("repair_data", "--shop", "shop-a")

    out = capsys.readouterr().out
    assert f"shop-a: {len(OUT_OF_WINDOW)} event(s) dated outside" in out and ": deleted" in out
    assert "shop-b" not in out
    events = Event.objects.filter(shop=damaged)
    assert events.count() == 1 + 4 + 2  # the good one, the four with bad values, the two ratings
    assert sorted(events.exclude(value=None).values_list("value", flat=True)) == [2.0, 4.0]
    assert Item.objects.get(external_id="lipstick").interaction_count == 7
    assert Item.objects.filter(external_id="lip stick/red").exists()  # ids are reported, never changed
    assert Shopper.objects.filter(external_id="ana lópez").exists()
    assert Event.objects.filter(shop__slug="shop-b").count() == 1  # another shop's repair waits for its turn

    call_command("repair_data", "--shop", "shop-a")
    again = capsys.readouterr().out
    assert "shop-a: 0 event(s) dated outside" in again and "shop-a: 0 event value(s)" in again


def test_an_unknown_shop_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No shop 'nope'"):
        call_command("repair_data", "--shop", "nope")


def test_erasing_a_shopper_with_unreadable_events_deletes_them_all(damaged, storefront_a):
    event_plant(shopper=Shopper.objects.get(external_id="s-1"), item=None, kind=EventType.SEARCH, occurred_at=MINUS_INFINITY)

    response = storefront_a.delete("/api/v1/shoppers/s-1")

    assert response.status_code == 204
    assert not Event.objects.filter(shopper__external_id="s-1").exists()
    assert not Event.objects.filter(shop=damaged).exists()


def test_the_admin_delete_page_of_a_shopper_with_unreadable_events_counts_them_unread(admin_client, damaged):
    shopper = Shopper.objects.get(external_id="s-1")

    response = admin_client.get(f"/admin/catalog/shopper/{shopper.pk}/delete/")

    assert response.status_code == 200
    assert response.context["deleted_objects"] == ["Shopper: s-1", f"{Event.objects.filter(shopper=shopper).count()} events"]
    assert response.context["perms_lacking"] == {"event"}  # as ever: the event log is not deleted from the admin
