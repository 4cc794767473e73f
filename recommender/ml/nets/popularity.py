"""Time-decayed popularity, popularity inside a category, and trending items."""

import numpy as np

from recommender.ml.data import Interactions

SECONDS_PER_DAY = 86_400.0


class PopularityModel:
    """Scores every item by its recent, weighted interaction volume.

    An event contributes `weight * 0.5 ** (age_days / half_life_days)`, so a
    purchase today counts as much as two purchases one half-life ago.

    Args:
        half_life_days: age at which an event counts half.
    """

    def __init__(self, half_life_days: float = 30.0) -> None:
        if half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        self.half_life_days = half_life_days
        self.now: float | None = None
        self.item_scores: np.ndarray | None = None
        self.item_categories: np.ndarray | None = None

    def fit(
        self,
        interactions: Interactions,
        now: float | None = None,
        item_categories: np.ndarray | None = None,
    ) -> "PopularityModel":
        """Compute the decayed score of every item.

        Args:
            interactions: the event log.
            now: reference time in epoch seconds; the latest event when omitted.
                Events after it count as happening now.
            item_categories: (n_items,) category code per item, -1 for unknown;
                enables `top_in_category` and `category_scores`.

        Returns:
            self.
        """
        self.now = _reference_time(interactions, now)
        age_days = np.maximum(self.now - interactions.timestamps, 0.0) / SECONDS_PER_DAY
        decayed = interactions.weights * 0.5 ** (age_days / self.half_life_days)
        self.item_scores = np.bincount(
            interactions.item_ids, weights=decayed, minlength=interactions.n_items
        )
        if item_categories is not None:
            item_categories = np.asarray(item_categories, dtype=np.int64)
            if len(item_categories) != interactions.n_items:
                raise ValueError("item_categories must have one code per item")
        self.item_categories = item_categories
        return self

    def score(self, n_users: int | None = None) -> np.ndarray:
        """Item scores, the same for every user.

        Args:
            n_users: when given, repeat the scores for that many users.

        Returns:
            (n_items,) scores, or a read-only (n_users, n_items) view of them.
        """
        scores = self._fitted_scores()
        if n_users is None:
            return scores
        return np.broadcast_to(scores, (n_users, len(scores)))

    def score_users(self, user_indices: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """Scores in the `evaluate_scores` contract; popularity ignores who asks.

        Args:
            user_indices: (batch,) user indices.
            histories: the users' histories (unused).

        Returns:
            (batch, n_items) scores, one identical row per user.
        """
        return np.tile(self._fitted_scores(), (len(user_indices), 1))

    def top_in_category(self, category: int, k: int) -> np.ndarray:
        """Most popular items of one category.

        Args:
            category: category code.
            k: maximum number of items.

        Returns:
            Up to k item ids, most popular first.
        """
        categories = self._fitted_categories()
        members = np.flatnonzero(categories == category)
        scores = self._fitted_scores()[members]
        return members[np.argsort(-scores, kind="stable")[:k]]

    def category_scores(self) -> np.ndarray:
        """Summed item scores per category; unknown (-1) items are left out.

        Returns:
            (max category code + 1,) scores indexed by category code.
        """
        categories = self._fitted_categories()
        known = categories >= 0
        return np.bincount(
            categories[known],
            weights=self._fitted_scores()[known],
            minlength=int(categories.max(initial=-1)) + 1,
        )

    def trending(
        self,
        interactions: Interactions,
        window_days: float = 7.0,
        k: int = 20,
        now: float | None = None,
        smoothing: float = 1.0,
    ) -> np.ndarray:
        """Items whose recent rate most exceeds their long-run rate.

        With `recent` the weighted events in the last `window_days` and
        `expected = before * window_days / before_days` what the item's rate
        before the window predicts for a window of that length, the trend is
        `(recent + smoothing) / (expected + smoothing)`. The pseudo-count keeps
        an item with one stray event from outranking a real burst.

        Args:
            interactions: the event log.
            window_days: length of the recent window.
            k: maximum number of items.
            now: end of the window in epoch seconds; the latest event when omitted.
            smoothing: pseudo-count of weighted events added to both sides.

        Returns:
            Up to k item ids with more recent activity than expected, most
            trending first.
        """
        now = _reference_time(interactions, now)
        window_start = now - window_days * SECONDS_PER_DAY
        is_recent = interactions.timestamps > window_start
        recent = _weighted_counts(interactions, is_recent)
        before = _weighted_counts(interactions, ~is_recent)
        first_event = interactions.timestamps.min(initial=window_start)
        # At least one window long, so a short history does not inflate the rate.
        before_days = max((window_start - first_event) / SECONDS_PER_DAY, window_days)
        expected = before * window_days / before_days
        trend = (recent + smoothing) / (expected + smoothing)
        rising = np.flatnonzero(recent > expected)
        return rising[np.argsort(-trend[rising], kind="stable")[:k]]

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Serialise without pickle.

        Returns:
            A JSON-ready config and a dict of arrays (for `np.savez`).
        """
        arrays = {"item_scores": self._fitted_scores()}
        if self.item_categories is not None:
            arrays["item_categories"] = self.item_categories
        return {"half_life_days": self.half_life_days, "now": self.now}, arrays

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "PopularityModel":
        """Rebuild a fitted model from `to_state` output.

        Args:
            config: the JSON config.
            arrays: the arrays.

        Returns:
            The model.
        """
        model = cls(half_life_days=config["half_life_days"])
        model.now = config["now"]
        model.item_scores = np.asarray(arrays["item_scores"], dtype=np.float64)
        if "item_categories" in arrays:
            model.item_categories = np.asarray(arrays["item_categories"], dtype=np.int64)
        return model

    def _fitted_scores(self) -> np.ndarray:
        if self.item_scores is None:
            raise RuntimeError("PopularityModel is not fitted")
        return self.item_scores

    def _fitted_categories(self) -> np.ndarray:
        if self.item_categories is None:
            raise RuntimeError("PopularityModel was fitted without item_categories")
        return self.item_categories


def _reference_time(interactions: Interactions, now: float | None) -> float:
    if now is not None:
        return float(now)
    return float(interactions.timestamps.max(initial=0.0))


def _weighted_counts(interactions: Interactions, mask: np.ndarray) -> np.ndarray:
    return np.bincount(
        interactions.item_ids[mask],
        weights=interactions.weights[mask],
        minlength=interactions.n_items,
    )
