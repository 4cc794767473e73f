"""Items upserted through the API are embedded by a worker on the score queue, so a new item has similar items, and
is among other items' similar items and the text family's candidates, without waiting for a training run."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from catalog.models import Event, EventType, Item
from catalog.services import item_batch_upsert
from catalog.signals import items_changed
from config.celery import app
from config.queues import Queue
from homepage.services import similar_items
from homepage.services.context import page_context_build
from recommender.models import Family, ItemEmbedding
from recommender.services import item_embeddings_write_through
from recommender.services.embeddings import serving_encoder
from tests.factories import ShopperFactory
from tests.homepage.helpers import embed_with_the_serving_encoder
from tests.support import wait_for

NEW_LIPSTICK = {"item_id": "cherry-lipstick", "title": "Cherry red matte lipstick", "category": "Makeup > Lips", "brand": "Makeup"}


def _score_queue_emptied() -> None:
    # Tasks other tests queued (for shops long rolled back) would only make this worker slower to reach ours.
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(Queue.SCORE)


@pytest.mark.django_db(transaction=True)
def test_an_item_posted_through_the_api_is_embedded_by_a_real_worker_and_is_similar_to_its_kind(pattern_shop, storefront_a):
    embed_with_the_serving_encoder(pattern_shop)
    _score_queue_emptied()
    lipstick = Item.objects.get(shop=pattern_shop, title="Red matte lipstick")

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.SCORE], shutdown_timeout=30):
        response = storefront_a.post("/api/v1/items", [NEW_LIPSTICK], format="json")
        assert response.status_code == 200, response.content
        new = Item.objects.get(shop=pattern_shop, external_id="cherry-lipstick")
        assert wait_for(lambda: ItemEmbedding.objects.filter(item=new).exists(), timeout=60.0)

    assert ItemEmbedding.objects.get(item=new).encoder == serving_encoder(shop=pattern_shop).key
    similar = [entry.item for entry in similar_items(shop=pattern_shop, item=new, k=5)]
    assert similar and {item.category_path for item in similar[:3]} == {"Makeup > Lips"}
    assert new in [entry.item for entry in similar_items(shop=pattern_shop, item=lipstick, k=10)]


@pytest.mark.django_db
def test_only_items_whose_text_changed_are_embedded_again(pattern_shop):
    embed_with_the_serving_encoder(pattern_shop)
    lipstick, cream = Item.objects.filter(shop=pattern_shop, title__in=["Red matte lipstick", "Hydrating face cream"])
    Item.objects.filter(pk=lipstick.pk).update(title="Red matte lipstick, long wear", price=12)
    Item.objects.filter(pk=cream.pk).update(price=30)  # the text the encoder reads is the same
    before = ItemEmbedding.objects.get(item=cream).updated_at

    assert item_embeddings_write_through(shop=pattern_shop, item_pks=[lipstick.pk, cream.pk]) == 1
    assert ItemEmbedding.objects.get(item=cream).updated_at == before


@pytest.mark.django_db
def test_a_new_item_embedded_after_training_is_among_the_text_family_s_candidates(pattern_shop, train, storefront_a):
    embed_with_the_serving_encoder(pattern_shop)
    train(pattern_shop, Family.TEXT)
    storefront_a.post("/api/v1/items", [NEW_LIPSTICK], format="json")
    new = Item.objects.get(shop=pattern_shop, external_id="cherry-lipstick")
    item_embeddings_write_through(shop=pattern_shop, item_pks=[new.pk])
    shopper = ShopperFactory(shop=pattern_shop)
    lipstick = Item.objects.get(shop=pattern_shop, title="Red matte lipstick")
    Event.objects.create(
        shop=pattern_shop, shopper=shopper, item=lipstick, type=EventType.VIEW, event_id="e1", occurred_at=timezone.now()
    )

    context = page_context_build(shop=pattern_shop, shopper=shopper, now=timezone.now(), exclude=set())
    text = [pk for pk, _ in context.candidates()[Family.TEXT]]

    assert text[0] == new.pk  # the closest text to what they viewed, though the model never saw it
    assert lipstick.pk not in text


@pytest.mark.django_db
def test_only_a_storefront_s_upsert_names_its_items_for_embedding_not_a_bulk_load(shop_a):
    announced = []

    def announce(sender, *, item_pks=(), **kwargs):
        announced.append(list(item_pks))

    items_changed.connect(announce)
    try:
        item_batch_upsert(shop=shop_a, items=[{"item_id": "imported", "title": "Imported"}], bulk_load=True)
        item_batch_upsert(shop=shop_a, items=[{"item_id": "posted", "title": "Posted"}])
    finally:
        items_changed.disconnect(announce)

    assert announced == [[], [Item.objects.get(external_id="posted").pk]]
