"""Search words are interest: a shopper who searched and clicked nothing since gets a rail of what matches the
words, and the words move the text family's candidates, once the score worker embedded them."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Event, EventType, Item
from homepage.services import homepage_compose
from homepage.services.context import page_context_build
from recommender.models import Family, QueryEmbedding
from recommender.services import query_embeddings_write
from tests.factories import ShopperFactory
from tests.homepage.helpers import embed_with_the_serving_encoder, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def browsing(pattern_shop, train):
    """A shopper who viewed a face cream a minute ago, where the text family serves on MiniLM's vectors."""
    embed_with_the_serving_encoder(pattern_shop)
    train(pattern_shop, Family.TEXT)
    shopper = ShopperFactory(shop=pattern_shop)
    record(shopper, Item.objects.get(shop=pattern_shop, title="Hydrating face cream"), minutes_ago=1)
    return pattern_shop, shopper


def _search(client, shopper, words: str) -> None:
    event = {"event_id": f"search-{uuid.uuid4().hex[:8]}", "shopper_id": shopper.external_id, "type": "search", "query": words,
             "occurred_at": timezone.now().isoformat()}
    response = client.post("/api/v1/events", [event], format="json")
    assert response.status_code == 200 and response.json()["created"] == 1, response.content


def _categories(pks) -> list[str]:
    items = Item.objects.in_bulk(pks)
    return [items[pk].category_path for pk in pks]


def _text_candidates(shop, shopper) -> list[int]:
    context = page_context_build(shop=shop, shopper=shopper, now=timezone.now(), exclude=set())
    return [pk for pk, _ in context.candidates()[Family.TEXT]]


def test_search_words_are_embedded_once_however_they_were_typed(pattern_shop):
    assert query_embeddings_write(shop=pattern_shop, queries=["Red  Lipstick", "red lipstick ", "face cream"]) == 2
    assert query_embeddings_write(shop=pattern_shop, queries=["RED LIPSTICK"]) == 0

    assert sorted(QueryEmbedding.objects.filter(shop=pattern_shop).values_list("text", flat=True)) == ["face cream", "red lipstick"]


def test_a_search_with_no_click_since_moves_the_text_candidates_toward_its_words(browsing, storefront_a):
    shop, shopper = browsing
    assert set(_categories(_text_candidates(shop, shopper)[:3])) == {"Skin Care > Face"}

    _search(storefront_a, shopper, "Red lipstick")
    query_embeddings_write(shop=shop, queries=["Red lipstick"])  # as the score worker does

    assert set(_categories(_text_candidates(shop, shopper)[:3])) == {"Makeup > Lips"}


def test_the_next_page_has_a_rail_because_of_the_search_and_a_short_life_until_the_words_are_embedded(browsing, storefront_a):
    shop, shopper = browsing
    _search(storefront_a, shopper, "red lipstick")

    pending = homepage_compose(shop=shop, shopper=shopper, rail_keys=["because-you-viewed"])
    assert pending.rails[0].title == "Because you viewed Hydrating face cream"
    assert pending.valid_until <= pending.generated_at + timedelta(seconds=2)  # not cached past the embedding

    query_embeddings_write(shop=shop, queries=["red lipstick"])
    page = homepage_compose(shop=shop, shopper=shopper, rail_keys=["because-you-viewed"])
    rail = page.rails[0]
    assert rail.title == "Because you searched for 'red lipstick'"
    assert set(_categories([entry.item.pk for entry in rail.items][:3])) == {"Makeup > Lips"}
    assert {entry.reason for entry in rail.items} == {"Because you searched for 'red lipstick'"}


def test_an_item_viewed_after_the_search_takes_the_rail_back(browsing, storefront_a):
    shop, shopper = browsing
    _search(storefront_a, shopper, "red lipstick")
    query_embeddings_write(shop=shop, queries=["red lipstick"])
    Event.objects.create(
        shop=shop, shopper=shopper, item=Item.objects.get(shop=shop, title="Vanilla body mist"), type=EventType.VIEW,
        event_id="after", occurred_at=timezone.now() + timedelta(seconds=1),
    )

    page = homepage_compose(shop=shop, shopper=shopper, rail_keys=["because-you-viewed"], now=timezone.now() + timedelta(seconds=2))
    assert page.rails[0].title == "Because you viewed Vanilla body mist"
