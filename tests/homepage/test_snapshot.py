import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Item
from homepage import snapshot as snapshot_module
from homepage.cache import homepage_catalog_changed
from homepage.services import homepage_compose
from homepage.snapshot import catalog_snapshot
from recommender.models import ItemEmbedding

pytestmark = pytest.mark.django_db


def _record(item: Item, **changes) -> dict:
    record = {"item_id": item.external_id, "title": item.title, "category": item.category_path, "brand": item.brand}
    return {**record, **changes}


def _post_items(client, records: list[dict]) -> None:
    response = client.post("/api/v1/items", records, format="json")
    assert response.status_code == 200, response.content


def _page_item_ids(page) -> list[str]:
    return [entry.item.external_id for rail in page.rails for entry in rail.items]


def test_an_item_made_unavailable_through_the_api_leaves_the_next_page(served, storefront_a):
    top = homepage_compose(shop=served, shopper=None).rails[0].items[0].item

    _post_items(storefront_a, [_record(top, available=False)])

    assert catalog_snapshot(shop=served).items[top.pk].available is False
    assert top.external_id not in _page_item_ids(homepage_compose(shop=served, shopper=None))


def test_an_item_posted_through_the_api_is_the_next_page_s_newest_arrival(served, storefront_a):
    homepage_compose(shop=served, shopper=None)

    _post_items(storefront_a, [{"item_id": "just-in", "title": "Just in", "category": "Skin Care > Face"}])

    page = homepage_compose(shop=served, shopper=None, rail_keys=["new-arrivals"])
    assert page.rails[0].items[0].item.external_id == "just-in"


def test_a_page_reads_no_item_rows_or_vectors_once_the_catalog_is_loaded(served):
    homepage_compose(shop=served, shopper=None)

    with CaptureQueriesContext(connection) as queries:
        homepage_compose(shop=served, shopper=None)

    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if sql.startswith('SELECT "catalog_item".')]  # the availability check is SELECT 1
    assert not [sql for sql in statements if "recommender_itemembedding" in sql]


def test_an_item_made_unavailable_behind_the_services_back_is_still_never_served(served):
    top = homepage_compose(shop=served, shopper=None).rails[0].items[0].item

    Item.objects.filter(pk=top.pk).update(available=False)  # no catalog token bump

    assert top.external_id not in _page_item_ids(homepage_compose(shop=served, shopper=None))


def test_an_item_s_nearest_neighbours_by_text_are_its_own_category_and_never_itself(served):
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")
    snapshot = catalog_snapshot(shop=served)
    same_category = set(Item.objects.filter(shop=served, category_path=lipstick.category_path).values_list("pk", flat=True))

    nearest = snapshot.nearest(snapshot.vector(lipstick.pk), k=len(same_category) - 1, leave_out=lipstick.pk)

    assert {pk for pk, _ in nearest} == same_category - {lipstick.pk}
    assert [score for _, score in nearest] == sorted((score for _, score in nearest), reverse=True)


def test_items_matching_lists_the_available_ones_newest_first_and_as_many_as_each_caller_asks(served):
    snapshot = catalog_snapshot(shop=served)
    in_face = [pk for pk in snapshot.newest.pks if snapshot.items[pk].category_path == "Skin Care > Face"]

    def face(item):
        return item.category_path == "Skin Care > Face"

    assert len(in_face) >= 3
    assert snapshot.items_matching("face", face, k=1) == in_face[:1]
    assert snapshot.items_matching("face", face, k=3) == in_face[:3]  # listed once, not cut to the first k asked
    assert snapshot.category_items(category="Skin Care", k=50)[:3] == [
        pk for pk in snapshot.newest.pks if snapshot.items[pk].category_path.startswith("Skin Care > ")
    ][:3]


def _catalog_reads(queries) -> list[str]:
    """Statements that read the shop's items or vectors whole, not only those changed."""
    return [
        query["sql"] for query in queries.captured_queries
        if ("catalog_item" in query["sql"] or "recommender_itemembedding" in query["sql"])
        and query["sql"].startswith("SELECT") and "change_xid" not in query["sql"]
    ]


def test_an_upsert_of_one_item_reads_that_item_not_the_catalog(served, storefront_a):
    before = catalog_snapshot(shop=served)
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")

    _post_items(storefront_a, [_record(lipstick, title="Red matte lipstick, refill")])
    with CaptureQueriesContext(connection) as queries:
        after = catalog_snapshot(shop=served)

    assert after is before  # changed in place, not read again
    assert after.items[lipstick.pk].title == "Red matte lipstick, refill"
    assert _catalog_reads(queries) == []


def test_an_item_out_of_stock_leaves_the_listings_and_comes_back_in_its_place(served, storefront_a):
    snapshot = catalog_snapshot(shop=served)
    face = snapshot.category_items(category="Skin Care", k=50)
    gone = Item.objects.get(pk=face[1])

    _post_items(storefront_a, [_record(gone, available=False)])
    catalog_snapshot(shop=served)
    assert gone.pk not in snapshot.available_pks
    assert snapshot.category_items(category="Skin Care", k=50) == [face[0], *face[2:]]
    assert gone.pk not in snapshot.newest.pks

    _post_items(storefront_a, [_record(gone, available=True)])
    catalog_snapshot(shop=served)
    assert snapshot.category_items(category="Skin Care", k=50) == face  # newest first, as before


def test_an_item_moved_to_another_category_moves_between_its_listings(served, storefront_a):
    snapshot = catalog_snapshot(shop=served)
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")
    assert lipstick.pk in snapshot.category_items(category="Makeup", k=50)

    _post_items(storefront_a, [_record(lipstick, category="Skin Care > Lips")])
    catalog_snapshot(shop=served)

    assert lipstick.pk not in snapshot.category_items(category="Makeup", k=50)
    assert lipstick.pk in snapshot.category_items(category="Skin Care", k=50)
    assert snapshot.items[lipstick.pk].category_path == "Skin Care > Lips"


def test_a_deleted_item_leaves_the_items_the_listings_and_the_nearest_neighbours(served):
    snapshot = catalog_snapshot(shop=served)
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")
    neighbour = snapshot.nearest(snapshot.vector(lipstick.pk), k=1, leave_out=lipstick.pk)[0][0]

    Item.objects.get(pk=neighbour).delete()  # as the admin deletes it
    with CaptureQueriesContext(connection) as queries:
        assert catalog_snapshot(shop=served) is snapshot

    assert _catalog_reads(queries) == []
    assert neighbour not in snapshot.items and neighbour not in snapshot.newest.pks
    assert neighbour not in snapshot.category_items(category="Makeup", k=50)
    nearest = snapshot.nearest(snapshot.vector(lipstick.pk), k=len(snapshot.vector_rows), leave_out=lipstick.pk)
    assert neighbour not in {pk for pk, _ in nearest}
    assert len(nearest) == len(snapshot.vector_rows) - 1


def test_a_new_item_s_vector_makes_it_a_neighbour_without_a_reload(served, storefront_a):
    snapshot = catalog_snapshot(shop=served)
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")
    _post_items(storefront_a, [{"item_id": "lipstick-twin", "title": "Red matte lipstick twin", "category": "Makeup > Lips"}])
    twin = Item.objects.get(shop=served, external_id="lipstick-twin")

    ItemEmbedding.objects.create(item=twin, encoder="test", text_hash="test", vector=snapshot.vector(lipstick.pk).tolist())
    homepage_catalog_changed(shop=served)
    assert catalog_snapshot(shop=served) is snapshot

    assert snapshot.nearest(snapshot.vector(lipstick.pk), k=1, leave_out=lipstick.pk)[0][0] == twin.pk
    assert snapshot.newest_items(k=1) == [(twin.pk, 1.0)]


def test_an_item_s_nearest_items_are_remembered_until_a_vector_is_written_or_an_item_deleted(served, storefront_a):
    snapshot = catalog_snapshot(shop=served)
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")
    scanned = snapshot.nearest(snapshot.vector(lipstick.pk), k=3, leave_out=lipstick.pk)
    assert snapshot.item_nearest(lipstick.pk, k=3) == scanned
    assert snapshot.item_nearest(lipstick.pk, k=3) == scanned  # remembered, as scanned
    _post_items(storefront_a, [{"item_id": "lipstick-twin", "title": "Red matte lipstick twin", "category": "Makeup > Lips"}])
    twin = Item.objects.get(shop=served, external_id="lipstick-twin")

    ItemEmbedding.objects.create(item=twin, encoder="test", text_hash="test", vector=snapshot.vector(lipstick.pk).tolist())
    homepage_catalog_changed(shop=served)
    assert catalog_snapshot(shop=served) is snapshot

    assert snapshot.item_nearest(lipstick.pk, k=3)[0][0] == twin.pk
    Item.objects.filter(pk=twin.pk).delete()  # as the admin deletes it
    catalog_snapshot(shop=served)
    assert snapshot.item_nearest(lipstick.pk, k=3) == scanned


def test_a_write_behind_the_services_back_is_read_within_the_check_interval(served, monkeypatch):
    snapshot = catalog_snapshot(shop=served)
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")

    Item.objects.filter(pk=lipstick.pk).update(title="Renamed by a script")  # bumps no token
    assert catalog_snapshot(shop=served).items[lipstick.pk].title == "Red matte lipstick"
    monkeypatch.setattr(snapshot_module, "CHECK_SECONDS", 0)

    assert catalog_snapshot(shop=served) is snapshot  # the change read, not the catalog
    assert snapshot.items[lipstick.pk].title == "Renamed by a script"


def test_many_changes_at_once_read_the_catalog_again(served, storefront_a, monkeypatch):
    monkeypatch.setattr(snapshot_module, "CHANGES_MAX", 2)
    before = catalog_snapshot(shop=served)
    items = list(Item.objects.filter(shop=served)[:5])

    _post_items(storefront_a, [_record(item, title=f"{item.title} (new)") for item in items])
    after = catalog_snapshot(shop=served)

    assert after is not before
    assert {after.items[item.pk].title for item in items} == {f"{item.title} (new)" for item in items}


@pytest.mark.django_db(transaction=True)  # the thread that reads the catalog anew sees committed rows only
def test_a_whole_new_read_is_built_behind_the_requests_and_swapped_in(served, storefront_a, monkeypatch, settings):
    settings.VITRINE_SNAPSHOT_BUILD_BEHIND = True
    monkeypatch.setattr(snapshot_module, "CHANGES_MAX", 2)
    before = catalog_snapshot(shop=served)
    items = list(Item.objects.filter(shop=served)[:5])
    release = threading.Event()
    load = snapshot_module._snapshot_load
    monkeypatch.setattr(snapshot_module, "_snapshot_load", lambda shop, token: release.wait(10) and load(shop, token))

    _post_items(storefront_a, [_record(item, title=f"{item.title} (new)") for item in items])

    assert catalog_snapshot(shop=served) is before  # served at once from the snapshot in place
    assert catalog_snapshot(shop=served) is before  # and not read again while the new one is built
    release.set()
    after = _snapshot_swapped(served, before)
    assert {after.items[item.pk].title for item in items} == {f"{item.title} (new)" for item in items}


def _snapshot_swapped(shop, before, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while (found := catalog_snapshot(shop=shop)) is before:
        assert time.monotonic() < deadline, "the new snapshot was never swapped in"
        time.sleep(0.02)
    return found
