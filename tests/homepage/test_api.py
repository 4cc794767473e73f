from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import EventType, Item, Shopper
from homepage.selectors import rail_click_through
from recommender.models import Family
from tests.factories import ShopperFactory
from tests.homepage.helpers import record

pytestmark = pytest.mark.django_db


def _page(client, shopper_id, **params):
    response = client.get(f"/api/v1/homepage/{shopper_id}", params)
    assert response.status_code == 200, response.json()
    return response.json()


def _item_ids(page):
    return [item["item_id"] for rail in page["rails"] for item in rail["items"]]


def _view(client, shopper_id, item, event_id, kind="view", context=None):
    event = {"event_id": event_id, "shopper_id": shopper_id, "item_id": item.external_id, "type": kind,
             "occurred_at": timezone.now().isoformat()}
    if context:
        event["context"] = context
    response = client.post("/api/v1/events", [event], format="json")
    assert response.json()["created"] == 1, response.json()


def test_the_page_has_the_documented_shape(served, storefront_a):
    shopper = ShopperFactory(shop=served)
    record(shopper, Item.objects.get(shop=served, title="Clay face mask"))

    page = _page(storefront_a, shopper.external_id)

    assert set(page) == {"request_id", "generated_at", "experiment", "variant", "shopper", "rails"}
    assert (page["experiment"], page["variant"]) == (None, None)  # in no experiment
    assert page["shopper"] == {"known": True, "personalized": True}
    rail = page["rails"][0]
    assert set(rail) == {"key", "title", "kind", "items"}
    assert set(rail["items"][0]) == {"item_id", "title", "image_url", "price", "rail", "slot", "reason"}
    assert [item["slot"] for item in rail["items"]] == list(range(1, len(rail["items"]) + 1))
    assert len(_item_ids(page)) == len(set(_item_ids(page)))


def test_an_unknown_shopper_gets_the_cold_start_page_and_is_not_created(served, storefront_a):
    page = _page(storefront_a, "never-seen")

    assert page["shopper"] == {"known": False, "personalized": False}
    keys = [rail["key"] for rail in page["rails"]]
    assert keys[:2] == ["for-you", "trending"]
    assert page["rails"][0]["title"] == "Popular right now"
    categories = set(Item.objects.filter(shop=served, external_id__in=[i["item_id"] for i in page["rails"][0]["items"]])
                     .values_list("category_path", flat=True))
    assert len(categories) == 3  # a spread of the catalog
    assert not Shopper.objects.filter(shop=served, external_id="never-seen").exists()


def test_an_opted_out_shopper_gets_a_page_that_ignores_their_events(served, storefront_a):
    shopper = ShopperFactory(shop=served, personalization_opt_out=True)
    record(shopper, Item.objects.get(shop=served, title="Clay face mask"))

    page = _page(storefront_a, shopper.external_id)

    assert page["shopper"] == {"known": True, "personalized": False}
    assert page == {**_page(storefront_a, "someone-new"), "request_id": page["request_id"],
                    "generated_at": page["generated_at"], "shopper": page["shopper"]}


def test_an_opted_out_shoppers_new_event_keeps_their_next_page_non_personalized(served, storefront_a):
    shopper = ShopperFactory(shop=served, personalization_opt_out=True)
    _page(storefront_a, shopper.external_id)  # cached

    _view(storefront_a, shopper.external_id, Item.objects.get(shop=served, title="Clay face mask"), "o-1")

    assert _page(storefront_a, shopper.external_id)["shopper"] == {"known": True, "personalized": False}


def test_an_event_posted_through_the_api_changes_the_next_page(served, storefront_a):
    cream = Item.objects.get(shop=served, title="Hydrating face cream")
    perfume = Item.objects.get(shop=served, title="Amber perfume")
    assert _page(storefront_a, "newcomer")["shopper"]["known"] is False

    _view(storefront_a, "newcomer", cream, "n-1")
    first = _page(storefront_a, "newcomer")
    _view(storefront_a, "newcomer", perfume, "n-2")
    second = _page(storefront_a, "newcomer")

    def rail(page, key):
        return next(rail for rail in page["rails"] if rail["key"] == key)

    assert first["shopper"]["known"] is True
    assert rail(first, "because-you-viewed")["title"] == "Because you viewed Hydrating face cream"
    assert rail(second, "because-you-viewed")["title"] == "Because you viewed Amber perfume"
    assert [item["item_id"] for item in rail(second, "recently-viewed")["items"]] == [perfume.external_id, cream.external_id]


@pytest.mark.parametrize(
    "params, code",
    [
        ({"size": "0"}, "invalid"),
        ({"size": "51"}, "invalid"),
        ({"size": "many"}, "invalid"),
        ({"page": "0"}, "invalid"),
        ({"page": "2"}, "page_needs_one_rail"),
        ({"page": "2", "rails": "trending,new-arrivals"}, "page_needs_one_rail"),
        ({"rails": "trending,nope"}, "unknown_rail"),
    ],
)
def test_bad_parameters_get_a_clear_400(pattern_shop, storefront_a, params, code):
    response = storefront_a.get("/api/v1/homepage/someone", params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_rails_size_and_exclude_shape_the_page(pattern_shop, storefront_a):
    skipped = Item.objects.get(shop=pattern_shop, title="Vitamin C serum")

    page = _page(storefront_a, "someone", rails="new-arrivals,trending", size=3, exclude=f"{skipped.external_id},unknown-id")

    assert [rail["key"] for rail in page["rails"]] == ["trending", "new-arrivals"]  # page order, not request order
    assert [len(rail["items"]) for rail in page["rails"]] == [3, 3]
    assert skipped.external_id not in _item_ids(page)


def test_the_next_page_of_a_rail_never_repeats_its_first(pattern_shop, storefront_a):
    full = _page(storefront_a, "someone", size=4)
    alone = _page(storefront_a, "someone", rails="trending", size=4)
    second = _page(storefront_a, "someone", rails="trending", size=4, page=2)

    first_trending = next(rail for rail in full["rails"] if rail["key"] == "trending")
    second_ids = [item["item_id"] for item in second["rails"][0]["items"]]
    assert len(second_ids) == 4
    assert not set(second_ids) & {item["item_id"] for item in first_trending["items"]}
    assert not set(second_ids) & {item["item_id"] for item in alone["rails"][0]["items"]}


def test_a_key_of_another_shop_sees_the_shopper_as_unknown(pattern_shop, storefront_b):
    shopper = Shopper.objects.filter(shop=pattern_shop).first()

    page = _page(storefront_b, shopper.external_id)

    assert page["shopper"] == {"known": False, "personalized": False}
    assert page["rails"] == []  # shop B has no items
    assert storefront_b.get(f"/api/v1/recommendations/{shopper.external_id}").json()["items"] == []


def test_similar_items_are_close_in_text_and_never_the_item_itself(served, storefront_a):
    lipstick = Item.objects.get(shop=served, title="Red matte lipstick")

    response = storefront_a.get(f"/api/v1/items/{lipstick.external_id}/similar", {"k": 4})

    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 4
    assert lipstick.external_id not in [item["item_id"] for item in items]
    similar = Item.objects.filter(shop=served, external_id__in=[item["item_id"] for item in items])
    assert set(similar.values_list("category_path", flat=True)) == {"Makeup > Lips"}
    assert storefront_a.get(f"/api/v1/items/{lipstick.external_id}").status_code == 200  # the catalog route still resolves


def test_similar_items_of_an_unknown_item_is_a_404_in_the_error_shape(pattern_shop, storefront_a, storefront_b):
    known = Item.objects.filter(shop=pattern_shop).first()

    for client, external_id in [(storefront_a, "nope"), (storefront_b, known.external_id)]:
        response = client.get(f"/api/v1/items/{external_id}/similar")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert storefront_a.get(f"/api/v1/items/{known.external_id}/similar", {"k": "0"}).status_code == 400


def test_similar_items_use_co_engagement_from_a_trained_shop(pattern_shop, train, storefront_a):
    train(pattern_shop, Family.MF)
    lipstick = Item.objects.get(shop=pattern_shop, title="Red matte lipstick")

    items = storefront_a.get(f"/api/v1/items/{lipstick.external_id}/similar", {"k": 5}).json()["items"]

    similar = Item.objects.filter(shop=pattern_shop, external_id__in=[item["item_id"] for item in items])
    assert set(similar.values_list("category_path", flat=True)) == {"Makeup > Lips"}
    assert items[0]["reason"] == "Shoppers who liked Red matte lipstick also liked this"


def test_recommendations_are_a_flat_top_k(served, storefront_a):
    shopper = ShopperFactory(shop=served)
    record(shopper, Item.objects.get(shop=served, title="Rose lip gloss"))

    body = storefront_a.get(f"/api/v1/recommendations/{shopper.external_id}", {"k": 5}).json()

    assert body["rail"] == "for-you"
    assert [item["slot"] for item in body["items"]] == [1, 2, 3, 4, 5]
    assert body["shopper"] == {"known": True, "personalized": True}
    assert storefront_a.get(f"/api/v1/recommendations/{shopper.external_id}", {"k": "101"}).status_code == 400


def test_requests_without_parameters_get_the_documented_defaults_every_time(served, storefront_a):
    shopper = ShopperFactory(shop=served)
    record(shopper, Item.objects.get(shop=served, title="Rose lip gloss"))
    path = f"/api/v1/recommendations/{shopper.external_id}"

    ten = len(storefront_a.get(path, {"k": 10}).json()["items"])
    sizes = [len(storefront_a.get(path).json()["items"]) for _ in range(2)]
    asked = len(storefront_a.get(path, {"k": 3}).json()["items"])

    assert ten > 3
    assert sizes == [ten, ten]  # k defaults to 10
    assert asked == 3
    assert len(storefront_a.get(path).json()["items"]) == ten  # the request with k=3 changed no default


def test_events_sent_back_with_the_served_context_are_attributed_to_their_rail(served, storefront_a):
    page = _page(storefront_a, "clicker")
    shown = page["rails"][0]["items"][:4]
    for number, item in enumerate(shown):
        context = {"request_id": page["request_id"], "rail": item["rail"], "slot": item["slot"]}
        item_row = Item.objects.get(shop=served, external_id=item["item_id"])
        _view(storefront_a, "clicker", item_row, f"imp-{number}", kind="impression", context=context)
        if number == 0:
            _view(storefront_a, "clicker", item_row, "click-0", kind="click", context=context)
    record(Shopper.objects.get(shop=served, external_id="clicker"), item_row, EventType.CLICK)  # no context: not counted

    rows = rail_click_through(shop=served, since=timezone.now() - timedelta(hours=1))

    assert rows == [{"rail": page["rails"][0]["key"], "impressions": 4, "clicks": 1, "purchases": 0, "ctr": 0.25}]


def test_the_openapi_schema_documents_the_homepage_endpoints(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    assert {"/api/v1/homepage/{shopper_id}", "/api/v1/items/{external_id}/similar", "/api/v1/recommendations/{shopper_id}"} <= set(paths)
    parameters = {parameter["name"] for parameter in paths["/api/v1/homepage/{shopper_id}"]["get"]["parameters"]}
    assert {"rails", "size", "exclude", "page"} <= parameters
