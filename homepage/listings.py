"""A catalog snapshot's listings of available items, newest first, kept in order as items come and go.

An item written again in place (a new price, a new title) keeps its place in every listing it stays in: a catalog
that reprices all day moves no listing entry, and a listing entry that does move costs a search, not a sort.
"""

from bisect import bisect_left
from collections.abc import Callable, Iterable

from catalog.models import CATEGORY_SEPARATOR, Item


def _newest_key(item: Item) -> tuple[float, int]:
    return (-item.created_at.timestamp(), -item.pk)


class NewestFirst:
    """Item pks, newest first."""

    def __init__(self, items: Iterable[Item] = ()):
        self._fill(sorted((_newest_key(item), item.pk) for item in items))

    def entries(self) -> Iterable[tuple[tuple[float, int], int]]:
        """(order key, pk) of each item, newest first."""
        return zip(self._keys, self.pks)

    @classmethod
    def ordered(cls, entries: list[tuple[tuple[float, int], int]]) -> "NewestFirst":
        """A listing of `entries` already newest first: no sort."""
        listing = cls()
        listing._fill(entries)
        return listing

    def _fill(self, entries: list[tuple[tuple[float, int], int]]) -> None:
        self._keys = [key for key, _ in entries]
        self.pks = [pk for _, pk in entries]

    def discard(self, item: Item) -> None:
        at = bisect_left(self._keys, _newest_key(item))
        if at < len(self.pks) and self.pks[at] == item.pk:
            del self._keys[at], self.pks[at]

    def add(self, item: Item) -> None:
        key = _newest_key(item)
        at = bisect_left(self._keys, key)
        self._keys.insert(at, key)
        self.pks.insert(at, item.pk)

    def move(self, old: Item | None, new: Item | None) -> None:
        """The listing's copy `old` of an item (None: it was not listed) replaced by `new` (None: no longer listed)."""
        if old is not None and new is not None and _newest_key(old) == _newest_key(new):
            return
        if old is not None:
            self.discard(old)
        if new is not None:
            self.add(new)


class Matching:
    """The available items that `matches`, newest first."""

    def __init__(self, matches: Callable[[Item], bool], newest: NewestFirst, items: dict[int, Item]):
        self.matches = matches
        self.listing = NewestFirst.ordered([(key, pk) for key, pk in newest.entries() if matches(items[pk])])

    def move(self, old: Item | None, new: Item | None) -> None:
        self.listing.move(old if old is not None and self.matches(old) else None, new if new is not None and self.matches(new) else None)


def category_nodes(item: Item) -> list[str]:
    """Every category that holds the item: its path and each of the path's ancestors ("Makeup" holds "Makeup > Lips")."""
    path = item.category_path
    if not path:
        return []
    nodes, at = [], path.find(CATEGORY_SEPARATOR)
    while at >= 0:
        if at > 0:
            nodes.append(path[:at])
        at = path.find(CATEGORY_SEPARATOR, at + 1)
    return [*nodes, path]


class CategoryListings:
    """The available items of every category and its subcategories, newest first, all listed in one pass over the
    catalog: a listing per category asked for would read the whole catalog once per category, in every process."""

    def __init__(self, newest: NewestFirst, items: dict[int, Item]):
        grouped: dict[str, list] = {}
        for entry in newest.entries():
            for node in category_nodes(items[entry[1]]):
                grouped.setdefault(node, []).append(entry)
        self._by_category = {node: NewestFirst.ordered(entries) for node, entries in grouped.items()}

    def pks(self, category: str) -> list[int]:
        listing = self._by_category.get(category)
        return listing.pks if listing is not None else []

    def move(self, old: Item | None, new: Item | None) -> None:
        old_nodes = category_nodes(old) if old is not None else []
        new_nodes = category_nodes(new) if new is not None else []
        for node in dict.fromkeys([*old_nodes, *new_nodes]):
            listing = self._by_category.setdefault(node, NewestFirst())
            listing.move(old if node in old_nodes else None, new if node in new_nodes else None)
