"""Content-based scores: how close each item's text is to the text of what the shopper engaged with."""

import numpy as np

from recommender.ml.topk import top_indices

# Each item's nearest others kept by `neighbours_build`: the most any rail or the similar-items API asks for.
NEIGHBOURS = 100
# Rows of the item-by-item similarity computed at once while building: about 50 MB for a 12,000-item catalog.
NEIGHBOUR_CHUNK = 1024


class TextSimilarityModel:
    """Scores items by cosine similarity to a recency-weighted mean of the history's text embeddings.

    Args:
        embeddings: (n_items, d) L2-normalised item text embeddings.
        recent: how many of the latest history items form the profile.
        decay: weight ratio between consecutive history items, newest first.
        neighbours: (n_items, K) each item's K nearest others, best first, as `neighbours_build` makes it.
        neighbour_scores: (n_items, K) their cosine similarities.
    """

    def __init__(
        self,
        embeddings: np.ndarray,
        recent: int = 5,
        decay: float = 0.7,
        neighbours: np.ndarray | None = None,
        neighbour_scores: np.ndarray | None = None,
    ) -> None:
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        self.recent = recent
        self.decay = decay
        self.neighbours = neighbours
        self.neighbour_scores = neighbour_scores

    def neighbours_build(self, k: int = NEIGHBOURS) -> "TextSimilarityModel":
        """Finds every item's k nearest others once, at training, so that serving one item's similar items
        reads a row instead of scanning the whole catalog's embeddings."""
        count = len(self.embeddings)
        k = max(0, min(k, count - 1))
        self.neighbours = np.zeros((count, k), dtype=np.int32)
        self.neighbour_scores = np.zeros((count, k), dtype=np.float32)
        if k == 0:
            return self
        for start in range(0, count, NEIGHBOUR_CHUNK):
            block = self.embeddings[start : start + NEIGHBOUR_CHUNK] @ self.embeddings.T
            rows = np.arange(len(block))
            block[rows, rows + start] = -np.inf
            top = np.argpartition(-block, k - 1, axis=1)[:, :k]
            scores = np.take_along_axis(block, top, axis=1)
            order = np.argsort(-scores, axis=1, kind="stable")
            self.neighbours[start : start + len(block)] = np.take_along_axis(top, order, axis=1)
            self.neighbour_scores[start : start + len(block)] = np.take_along_axis(scores, order, axis=1)
        return self

    def profile(self, history: np.ndarray) -> np.ndarray:
        """The (d,) profile of one history; zeros for an empty one."""
        latest = np.asarray(history, dtype=np.int64)[-self.recent :][::-1]
        if len(latest) == 0:
            return np.zeros(self.embeddings.shape[1], dtype=np.float32)
        weights = self.decay ** np.arange(len(latest), dtype=np.float32)
        return (weights[:, None] * self.embeddings[latest]).sum(axis=0) / weights.sum()

    def score_users(self, user_indices: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """(len(histories), n_items) cosine-like scores; the user indices are not needed."""
        profiles = np.stack([self.profile(history) for history in histories]) if histories else np.zeros((0, self.embeddings.shape[1]), np.float32)
        return profiles @ self.embeddings.T

    def similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k items closest in text to `item`, itself excluded; (ids, cosine scores)."""
        if self.neighbours is not None and k <= self.neighbours.shape[1]:
            return self.neighbours[item, :k].astype(np.int64), np.asarray(self.neighbour_scores[item, :k])
        scores = self.embeddings @ self.embeddings[item]
        top = top_indices(scores, k, exclude=[item])
        return top, scores[top]

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays = {"embeddings": self.embeddings}
        if self.neighbours is not None:
            arrays |= {"neighbours": self.neighbours, "neighbour_scores": self.neighbour_scores}
        return {"recent": self.recent, "decay": self.decay}, arrays

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "TextSimilarityModel":
        # Artifacts trained before the neighbour table existed have none: their similar items are scanned for.
        return cls(
            arrays["embeddings"], recent=config["recent"], decay=config["decay"],
            neighbours=arrays.get("neighbours"), neighbour_scores=arrays.get("neighbour_scores"),
        )
