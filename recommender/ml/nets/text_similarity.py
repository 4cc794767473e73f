"""Content-based scores: how close each item's text is to the text of what the shopper engaged with."""

import numpy as np


class TextSimilarityModel:
    """Scores items by cosine similarity to a recency-weighted mean of the history's text embeddings.

    Serving scores the same profile against the catalog's current vectors (`homepage.snapshot`), so items
    embedded after training are candidates too; `embeddings` are the vectors of training, for evaluation.

    Args:
        embeddings: (n_items, d) L2-normalised item text embeddings.
        recent: how many of the latest history items form the profile.
        decay: weight ratio between consecutive history items, newest first.
    """

    def __init__(self, embeddings: np.ndarray, recent: int = 5, decay: float = 0.7) -> None:
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        self.recent = recent
        self.decay = decay

    def profile_of(self, vectors: np.ndarray) -> np.ndarray:
        """The (d,) profile of a history given as its items' (n, d) vectors, oldest first; zeros for none."""
        latest = np.asarray(vectors, dtype=np.float32)[-self.recent :][::-1]
        if len(latest) == 0:
            return np.zeros(self.embeddings.shape[1], dtype=np.float32)
        weights = self.decay ** np.arange(len(latest), dtype=np.float32)
        return (weights[:, None] * latest).sum(axis=0) / weights.sum()

    def profile(self, history: np.ndarray) -> np.ndarray:
        """The (d,) profile of one history of item indices; zeros for an empty one."""
        return self.profile_of(self.embeddings[np.asarray(history, dtype=np.int64)[-self.recent :]])

    def score_users(self, user_indices: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """(len(histories), n_items) cosine-like scores; the user indices are not needed."""
        profiles = np.stack([self.profile(history) for history in histories]) if histories else np.zeros((0, self.embeddings.shape[1]), np.float32)
        return profiles @ self.embeddings.T

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {"recent": self.recent, "decay": self.decay}, {"embeddings": self.embeddings}

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "TextSimilarityModel":
        return cls(arrays["embeddings"], recent=config["recent"], decay=config["decay"])
