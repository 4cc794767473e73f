"""Reciprocal-rank blending of model families: the way a rail's families are composed into one ranking, shared by the
homepage (one shopper's candidates) and the offline evaluation of the composed ranking (a batch of shoppers)."""

from dataclasses import dataclass

import numpy as np

# Each family proposes this many candidates per shopper to a page.
CANDIDATES = 200
# How fast a family's say falls with rank: the n-th candidate (from 0) scores (1 + RANK_DAMPING) / (1 + RANK_DAMPING + n).
# Chosen on Amazon Beauty's validation targets (bench/README.md, quality): a score that fell by 1/200 a rank made
# the 1st and the 20th candidate nearly equal, so that the blend ranked the held-out purchase 8 % below the
# sequential model alone; with this one it ranks it above.
RANK_DAMPING = 5
# The default blend of the shopper's own ranking ("Picked for you"): the sequential model knows the order of a
# session, text the look of new items, MF the taste of a shopper.
PERSONAL_BLEND = {"sequential": 0.6, "mf": 0.1, "text": 0.3}


def rank_scores(count: int, damping: float = RANK_DAMPING) -> np.ndarray:
    """Blend scores of a family's `count` candidates, best first: 1 for the first, then reciprocal in the rank.
    Families score on unrelated scales (cosine, decayed counts, logits); their ranks compare."""
    return (1 + damping) / (1 + damping + np.arange(count))


@dataclass
class Blend:
    """Fitted models of several families, each with its weight (summing to 1), ranked as one."""

    parts: list[tuple[str, object, float]]  # (family, fitted model, weight)
    damping: float = RANK_DAMPING

    def fuse(self, scores: list[np.ndarray], histories: list[np.ndarray], candidates: int = CANDIDATES) -> np.ndarray:
        """(users, items) blended scores from each part's (users, items) scores, in `parts` order: each part's
        best `candidates` per shopper (their own items left out) scored by rank and weighted; 0 elsewhere."""
        users, items = scores[0].shape
        candidates = min(candidates, items)
        blended = np.zeros((users, items), dtype=np.float64)
        rows = np.arange(users)[:, None]
        weights = rank_scores(candidates, self.damping)[None, :]
        for (_, _, weight), part in zip(self.parts, scores):
            part = np.array(part, dtype=np.float64)
            for row, history in enumerate(histories):
                part[row, history] = -np.inf
            top = np.argpartition(-part, candidates - 1, axis=1)[:, :candidates]
            order = np.argsort(-np.take_along_axis(part, top, axis=1), axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            blended[rows, top] += weight * weights
        return blended
