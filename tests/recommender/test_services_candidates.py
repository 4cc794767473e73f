import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog.models import Event, EventType, Item, Shopper
from recommender.models import Family, ItemEmbedding
from recommender.services import candidates_for, item_embeddings_refresh, shopper_profile_refresh
from recommender.selectors import shop_arrays_load
from recommender.services.candidates import candidates_cache_key
from tests.factories import ItemFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def _click(shopper, item, event_id):
    Event.objects.create(
        shop=shopper.shop, shopper=shopper, item=item, type=EventType.CLICK, event_id=event_id, occurred_at=timezone.now()
    )


@pytest.fixture
def new_shopper(pattern_shop, train):
    """A shopper with no events yet where the sequential model serves, and two items of unlike categories."""
    train(pattern_shop, Family.SEQUENTIAL)
    lipstick = Item.objects.get(shop=pattern_shop, title="Red matte lipstick")
    cream = Item.objects.get(shop=pattern_shop, title="Hydrating face cream")
    return ShopperFactory(shop=pattern_shop), lipstick, cream


def test_a_fresh_click_changes_the_next_candidates_without_retraining(new_shopper):
    shopper, lipstick, cream = new_shopper

    _click(shopper, lipstick, "fresh-1")
    after_lipstick = candidates_for(shopper=shopper, k=5)[Family.SEQUENTIAL]
    _click(shopper, cream, "fresh-2")
    after_cream = candidates_for(shopper=shopper, k=5)[Family.SEQUENTIAL]

    assert after_lipstick != after_cream
    top_category = Item.objects.get(pk=after_cream[0][0]).category_path
    assert top_category == "Skin Care > Face"
    assert lipstick.pk not in [pk for pk, _ in after_lipstick]  # what the shopper has is left out


def test_a_shoppers_candidates_are_cached_once_and_scored_again_after_their_next_event(new_shopper):
    shopper, lipstick, cream = new_shopper
    _click(shopper, lipstick, "cached-1")
    scored = candidates_for(shopper=shopper, k=5)
    key = candidates_cache_key(shopper)
    entry = cache.get(key)
    assert entry["candidates"] == scored
    marked = {Family.SEQUENTIAL: [(cream.pk, 1.0)]}
    cache.set(key, {**entry, "candidates": marked})

    assert candidates_for(shopper=shopper, k=5) == marked  # nothing changed: read from the cache
    assert candidates_for(shopper=shopper, k=50) != marked  # more asked for than cached: scored again

    _click(shopper, cream, "cached-2")
    after = candidates_for(shopper=shopper, k=5)

    assert after != marked and cream.pk not in [pk for pk, _ in after[Family.SEQUENTIAL]]
    assert cache.get(key)["candidates"] == after  # the shopper's one entry, replaced
    assert len(list(cache._cache.get_client().scan_iter(f"*candidates:{shopper.shop_id}:{shopper.pk}*"))) == 1


def test_an_unknown_or_opted_out_shopper_gets_popularity_alone(pattern_shop, train):
    train(pattern_shop, Family.POPULARITY, Family.SEQUENTIAL)
    regular = Shopper.objects.filter(shop=pattern_shop).first()
    opted_out = Shopper.objects.filter(shop=pattern_shop).last()
    opted_out.personalization_opt_out = True
    opted_out.save()

    assert set(candidates_for(shopper=regular, k=5)) == {Family.POPULARITY, Family.SEQUENTIAL}
    assert set(candidates_for(shopper=opted_out, k=5)) == {Family.POPULARITY}
    assert set(candidates_for(shopper=None, shop=pattern_shop, k=5)) == {Family.POPULARITY}


def test_a_new_item_with_no_events_is_scored_from_its_text(pattern_shop, train):
    newcomer = ItemFactory(shop=pattern_shop, title="Scarlet matte lip colour", category_path="Makeup > Lips")
    train(pattern_shop, Family.TEXT, Family.SEQUENTIAL)
    shopper = ShopperFactory(shop=pattern_shop)
    _click(shopper, Item.objects.get(shop=pattern_shop, title="Red matte lipstick"), "new-item-1")

    candidates = candidates_for(shopper=shopper, k=20)

    for family in (Family.TEXT, Family.SEQUENTIAL):
        ranked = [pk for pk, _ in candidates[family]]
        assert newcomer.pk in ranked, family
    text_ranked = [pk for pk, _ in candidates[Family.TEXT]]
    perfume = Item.objects.get(shop=pattern_shop, title="Amber perfume")
    assert text_ranked.index(newcomer.pk) < text_ranked.index(perfume.pk)


def test_only_new_or_changed_items_are_embedded_again(pattern_shop):
    arrays = shop_arrays_load(shop=pattern_shop)
    item_embeddings_refresh(shop=pattern_shop, item_pks=arrays.item_pks, texts=arrays.data.item_texts, device="cpu")
    before = dict(ItemEmbedding.objects.values_list("item_id", "updated_at"))
    changed = Item.objects.get(shop=pattern_shop, title="Plum lipstick")
    changed.title = "Plum satin lipstick"
    changed.save()

    arrays = shop_arrays_load(shop=pattern_shop)
    vectors = item_embeddings_refresh(shop=pattern_shop, item_pks=arrays.item_pks, texts=arrays.data.item_texts, device="cpu")

    after = dict(ItemEmbedding.objects.values_list("item_id", "updated_at"))
    assert [pk for pk in after if after[pk] != before[pk]] == [changed.pk]
    assert vectors.shape == (18, 384)


def test_a_shoppers_profile_names_their_categories_brands_and_words(pattern_shop):
    shopper = Shopper.objects.filter(shop=pattern_shop).first()
    tags = shopper_profile_refresh(shopper=shopper).tags
    assert tags["categories"] == ["Makeup > Lips"]
    assert tags["brands"] == ["Makeup"]
    assert set(tags["keywords"]) & {"lipstick", "lip", "gloss", "liner", "balm", "matte"}
