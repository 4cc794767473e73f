"""Content-based scores: how close each item's text is to the text of what the shopper engaged with."""

import numpy as np


class TextSimilarityModel:
    """Scores items by cosine similarity to a recency-weighted mean of the history's text embeddings.

    Args:
        embeddings: (n_items, d) L2-normalised item text embeddings.
        recent: how many of the latest history items form the profile.
        decay: weight ratio between consecutive history items, newest first.
    """

    def __init__(self, embeddings: np.ndarray, recent: int = 5, decay: float = 0.7) -> None:
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        self.recent = recent
        self.decay = decay

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
        scores = self.embeddings @ self.embeddings[item]
        scores[item] = -np.inf
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        top = top[np.argsort(-scores[top])]
        return top, scores[top]

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {"recent": self.recent, "decay": self.decay}, {"embeddings": self.embeddings}

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "TextSimilarityModel":
        return cls(arrays["embeddings"], recent=config["recent"], decay=config["decay"])
