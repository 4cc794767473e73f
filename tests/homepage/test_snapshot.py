import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Item
from homepage.services import homepage_compose
from homepage.snapshot import catalog_snapshot

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
    in_face = [item.pk for item in snapshot.newest if item.category_path == "Skin Care > Face"]

    def face(item):
        return item.category_path == "Skin Care > Face"

    assert len(in_face) >= 3
    assert snapshot.items_matching("face", face, k=1) == in_face[:1]
    assert snapshot.items_matching("face", face, k=3) == in_face[:3]  # listed once, not cut to the first k asked
    assert snapshot.category_items(category="Skin Care", k=50)[:3] == [
        item.pk for item in snapshot.newest if item.category_path.startswith("Skin Care > ")
    ][:3]
