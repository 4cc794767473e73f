"""A snapshot's listings are, after any sequence of writes, what a scan of the catalog would list."""

import random
from datetime import UTC, datetime, timedelta

from catalog.models import Item
from homepage.listings import CategoryListings, NewestFirst, category_nodes

PATHS = ["Makeup > Lips", "Makeup > Lips > Liner", "Makeup > Face", "Skin Care", "Skin Care > Face", "", "Makeup"]


def _item(pk: int, path: str, *, available: bool = True, price: int = 1) -> Item:
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=pk % 7)  # ties in time, told apart by pk
    return Item(pk=pk, category_path=path, available=available, price=price, created_at=created)


def _scanned(items: dict[int, Item], category: str) -> list[int]:
    newest = NewestFirst(item for item in items.values() if item.available)
    return [pk for pk in newest.pks if items[pk].in_category(category)]


def test_an_items_categories_are_its_path_and_every_ancestor():
    assert category_nodes(_item(1, "Makeup > Lips > Liner")) == ["Makeup", "Makeup > Lips", "Makeup > Lips > Liner"]
    assert category_nodes(_item(2, "")) == []
    assert all(_item(3, "Makeup > Lips > Liner").in_category(node) for node in category_nodes(_item(3, "Makeup > Lips > Liner")))


def test_category_listings_match_a_scan_after_items_are_repriced_moved_sold_out_and_deleted():
    rng = random.Random(0)
    items = {pk: _item(pk, rng.choice(PATHS), available=rng.random() < 0.8) for pk in range(1, 200)}
    listings = CategoryListings(NewestFirst(item for item in items.values() if item.available), items)
    for _ in range(400):
        pk = rng.randrange(1, 230)
        old = items.get(pk)
        change = rng.choice(["price", "category", "stock", "delete", "new"])
        new = None if change == "delete" else _item(
            pk,
            rng.choice(PATHS) if change in ("category", "new") or old is None else old.category_path,
            available=(rng.random() < 0.5) if change == "stock" else (old.available if old else True),
            price=rng.randrange(100),
        )
        listings.move(old if old is not None and old.available else None, new if new is not None and new.available else None)
        if new is None:
            items.pop(pk, None)
        else:
            items[pk] = new

    for category in {node for path in PATHS for node in category_nodes(_item(0, path))} | {"Hair"}:
        assert listings.pks(category) == _scanned(items, category), category

