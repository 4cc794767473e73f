"""The sequential model scores items embedded after it was trained, by their text alone: a new item can be
"Picked for you" before the next training."""

import pytest
from django.utils import timezone

from catalog.models import Item, Shopper
from catalog.services import item_batch_upsert
from homepage.services.context import page_context_build
from recommender.models import Family
from tests.homepage.helpers import embed_with_the_serving_encoder

pytestmark = pytest.mark.django_db


def _sequential_rank(shop, shopper, pk: int) -> int | None:
    context = page_context_build(shop=shop, shopper=shopper, now=timezone.now(), exclude=set())
    ranked = [candidate for candidate, _ in context.candidates().get(Family.SEQUENTIAL, [])]
    return ranked.index(pk) if pk in ranked else None


def _buyer_of(shop, category: str) -> Shopper:
    return Shopper.objects.filter(shop=shop, events__item__category_path=category).distinct().first()


def test_an_item_embedded_after_training_is_a_sequential_candidate_where_its_text_fits(pattern_shop, train):
    embed_with_the_serving_encoder(pattern_shop)
    train(pattern_shop, Family.SEQUENTIAL)
    lips_buyer, perfume_buyer = _buyer_of(pattern_shop, "Makeup > Lips"), _buyer_of(pattern_shop, "Fragrance > Women")
    _sequential_rank(pattern_shop, lips_buyer, 0)  # their candidates cached before the new item exists

    result = item_batch_upsert(shop=pattern_shop, items=[{"item_id": "new-tint", "title": "Cherry lip tint", "category": "Makeup > Lips", "brand": "Makeup"}])
    assert result.created == 1, result.rejected
    embed_with_the_serving_encoder(pattern_shop)  # as the score worker does on write
    new = Item.objects.get(shop=pattern_shop, external_id="new-tint")

    for_lips, for_perfume = _sequential_rank(pattern_shop, lips_buyer, new.pk), _sequential_rank(pattern_shop, perfume_buyer, new.pk)
    assert for_lips is not None and for_perfume is not None  # scored without a retrain, the cache notwithstanding
    assert for_lips < for_perfume
