"""A shop's data as arrays, and its leave-last-out split."""

from dataclasses import dataclass

import numpy as np

from recommender.ml.data import Interactions, LeaveLastOutSplit, leave_last_out

# The order of event types is the code the sequential model embeds; new types go at the end.
EVENT_TYPES = ("impression", "view", "click", "add_to_cart", "purchase", "search", "rating", "dislike")
EVENT_TYPE_CODES = {name: code for code, name in enumerate(EVENT_TYPES)}


@dataclass(frozen=True)
class ShopData:
    """Everything a shop's models learn from, as arrays.

    Attributes:
        interactions: events with a positive weight, items and users as indices.
        item_texts: per item index, the text the encoder embeds.
        item_categories: per item index, a category code (-1 for none).
    """

    interactions: Interactions
    item_texts: list[str]
    item_categories: np.ndarray


@dataclass(frozen=True)
class Prepared:
    data: ShopData
    split: LeaveLastOutSplit
    train: Interactions

    @property
    def n_items(self) -> int:
        return self.data.interactions.n_items


def _training_rows(interactions: Interactions) -> np.ndarray:
    """Row indices of every event but each user's last two (the validation and test targets)."""
    order = np.lexsort((np.arange(len(interactions.user_ids)), interactions.timestamps, interactions.user_ids))
    users = interactions.user_ids[order]
    counts = np.bincount(users, minlength=interactions.n_users)
    position = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    held_out = (counts[users] >= 3) & (position >= counts[users] - 2)
    return np.sort(order[~held_out])


def prepare(data: ShopData) -> Prepared:
    interactions = data.interactions
    rows = _training_rows(interactions)
    train = Interactions(
        user_ids=interactions.user_ids[rows],
        item_ids=interactions.item_ids[rows],
        weights=interactions.weights[rows],
        timestamps=interactions.timestamps[rows],
        event_types=interactions.event_types[rows],
        n_users=interactions.n_users,
        n_items=interactions.n_items,
    )
    split = leave_last_out(interactions.sequences(), interactions.type_sequences())
    return Prepared(data=data, split=split, train=train)
