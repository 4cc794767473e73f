"""Every write to an item is stamped with its transaction, and every deletion kept a while, so a catalog snapshot
can read what changed since it last read (catalog.selectors.item_changes)."""

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from catalog.models import Item, ItemRemoval
from catalog.selectors import change_watermark, item_changes
from catalog.services import item_batch_upsert, item_interaction_counts_refresh, item_removals_prune
from tests.factories import ItemFactory

FIELDS = ("id", "title", "available")


def _changed_pks(shop, since) -> tuple[set[int], set[int]]:
    written, removed = item_changes(shop=shop, since=since, fields=FIELDS)
    return {item.pk for item in written}, set(removed)


@pytest.mark.django_db(transaction=True)
def test_items_written_after_a_watermark_are_its_changes_and_others_are_not(shop_a):
    kept, changed = ItemFactory(shop=shop_a), ItemFactory(shop=shop_a, external_id="changed")
    since = change_watermark()

    item_batch_upsert(shop=shop_a, items=[{"item_id": "changed", "title": "New title"}, {"item_id": "new", "title": "New"}])
    item_interaction_counts_refresh(shop=shop_a)  # the catalog's own counters are not content

    written, removed = _changed_pks(shop_a, since)
    assert written == {changed.pk, Item.objects.get(external_id="new").pk}
    assert kept.pk not in written and removed == set()


@pytest.mark.django_db(transaction=True)
def test_an_unchanged_upsert_is_no_change_and_an_admin_save_is_one(shop_a):
    item = ItemFactory(shop=shop_a, external_id="same", title="Same")
    item_batch_upsert(shop=shop_a, items=[{"item_id": "same", "title": "Same"}])
    since = change_watermark()

    item_batch_upsert(shop=shop_a, items=[{"item_id": "same", "title": "Same"}])
    assert _changed_pks(shop_a, since) == (set(), set())

    item.refresh_from_db()
    item.brand = "Acme"
    item.save()
    assert _changed_pks(shop_a, since) == ({item.pk}, set())


@pytest.mark.django_db(transaction=True)
def test_a_deleted_item_is_a_removal_of_its_shop_only(shop_a, shop_b):
    gone, other = ItemFactory(shop=shop_a), ItemFactory(shop=shop_b)
    since = change_watermark()

    Item.objects.filter(pk__in=[gone.pk, other.pk]).delete()

    assert _changed_pks(shop_a, since) == (set(), {gone.pk})
    assert _changed_pks(shop_b, since) == (set(), {other.pk})


@pytest.mark.django_db(transaction=True)
def test_a_write_committed_after_the_watermark_was_read_is_still_a_change(shop_a):
    """A transaction running when the watermark is read commits later: its rows were invisible then, so the
    next read from that watermark must see them."""
    item = ItemFactory(shop=shop_a, title="Before")
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("UPDATE catalog_item SET title = 'After' WHERE id = %s", [item.pk])  # begun, not committed
        since = change_watermark()
        assert _changed_pks(shop_a, since) == (set(), set())  # not visible yet
        other.commit()

    written, _ = item_changes(shop=shop_a, since=since, fields=FIELDS)
    assert [(row.pk, row.title) for row in written] == [(item.pk, "After")]


@pytest.mark.django_db
def test_removals_older_than_every_snapshot_s_reads_are_pruned(shop_a):
    old, recent = ItemFactory(shop=shop_a), ItemFactory(shop=shop_a)
    Item.objects.filter(pk__in=[old.pk, recent.pk]).delete()
    ItemRemoval.objects.filter(item_id=old.pk).update(removed_at=timezone.now() - timedelta(hours=3))

    assert item_removals_prune() == 1
    assert list(ItemRemoval.objects.values_list("item_id", flat=True)) == [recent.pk]
