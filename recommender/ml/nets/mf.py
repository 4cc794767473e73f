"""Matrix factorisation for implicit feedback (ALS, Hu, Koren & Volinsky 2008) via `implicit`."""

import numpy as np
import scipy.sparse


class ALSModel:
    """Alternating least squares over a users x items confidence matrix.

    Fits on the GPU when `implicit` was built with CUDA and one is present,
    otherwise on the CPU; the factors are always kept as numpy arrays.

    Args:
        factors: latent dimension.
        regularization: L2 penalty on the factors.
        iterations: ALS sweeps.
        alpha: confidence scale; an entry r of the matrix gives confidence alpha * r.
        random_state: seed of the factor initialisation.
    """

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        iterations: int = 15,
        alpha: float = 20.0,
        random_state: int = 42,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.random_state = random_state
        self._user_factors: np.ndarray | None = None
        self._item_factors: np.ndarray | None = None
        self._solver: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._norms: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def user_factors(self) -> np.ndarray:
        """(n_fitted_users, factors) user vectors."""
        if self._user_factors is None:
            raise RuntimeError("ALSModel is not fitted")
        return self._user_factors

    @property
    def item_factors(self) -> np.ndarray:
        """(n_items, factors) item vectors."""
        if self._item_factors is None:
            raise RuntimeError("ALSModel is not fitted")
        return self._item_factors

    def fit(self, user_items: scipy.sparse.csr_matrix, show_progress: bool = False) -> "ALSModel":
        """Factorise the interaction matrix.

        Args:
            user_items: (n_users, n_items) summed event weights (see
                `sequences_to_matrix`); alpha is applied here, not by the caller.
            show_progress: show implicit's progress bar.

        Returns:
            self.
        """
        import implicit.als
        import implicit.gpu
        from threadpoolctl import threadpool_limits

        # implicit parallelises itself and warns when BLAS threads compete with it.
        with threadpool_limits(1, "blas"):
            model = implicit.als.AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
                use_gpu=implicit.gpu.HAS_CUDA,
            )
            matrix = scipy.sparse.csr_matrix(user_items, dtype=np.float32)
            model.fit(matrix, show_progress=show_progress)
        self._user_factors = _to_numpy(model.user_factors)
        self._item_factors = _to_numpy(model.item_factors)
        return self

    def score_users(self, user_indices: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """Dot-product scores of users against every item.

        Users fitted on keep their learned vectors; users beyond the fitted
        rows are folded in from their history (one least-squares step against
        the fixed item factors, the same step ALS takes).

        Args:
            user_indices: (batch,) user indices.
            histories: item ids per user of the batch, aligned with `user_indices`.

        Returns:
            (batch, n_items) float32 scores.
        """
        user_indices = np.asarray(user_indices, dtype=np.int64)
        vectors = np.empty((len(user_indices), self.factors), dtype=np.float32)
        known = user_indices < len(self.user_factors)
        vectors[known] = self.user_factors[user_indices[known]]
        unknown = np.flatnonzero(~known)
        if len(unknown):
            vectors[unknown] = self.fold_in([histories[row] for row in unknown])
        return vectors @ self.item_factors.T

    def fold_in(self, histories: list[np.ndarray]) -> np.ndarray:
        """User vectors for users the model was not fitted on.

        Solves `(YᵀY + Yᵀ(C-I)Y + λI) x = YᵀC p` per user with confidence
        C = alpha * event count, as implicit's `recalculate_user` does.

        Args:
            histories: item ids per user; repeated items add confidence.

        Returns:
            (len(histories), factors) float32 user vectors.
        """
        item_factors, gram = self._solver_inputs()
        vectors = np.zeros((len(histories), self.factors), dtype=np.float32)
        for row, history in enumerate(histories):
            # Per history rather than through a sparse matrix: serving folds in one shopper per request.
            items, counts = np.unique(np.asarray(history, dtype=np.int64), return_counts=True)
            if not len(items):
                continue
            confidence = self.alpha * counts.astype(np.float32)
            seen = item_factors[items]
            lhs = gram + seen.T @ ((confidence - 1.0)[:, None] * seen)
            vectors[row] = np.linalg.solve(lhs, seen.T @ confidence)
        return vectors

    def _solver_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """Float64 item factors and YᵀY + λI, computed once per set of item factors: fold-in runs per request."""
        if self._solver is None or self._solver[0] is not self.item_factors:
            item_factors = self.item_factors.astype(np.float64)
            gram = item_factors.T @ item_factors + self.regularization * np.eye(self.factors)
            self._solver = (self.item_factors, item_factors, gram)
        return self._solver[1], self._solver[2]

    def _item_norms(self) -> np.ndarray:
        """Each item vector's length, computed once per set of item factors: serving asks per request."""
        if self._norms is None or self._norms[0] is not self.item_factors:
            self._norms = (self.item_factors, np.linalg.norm(self.item_factors, axis=1))
        return self._norms[1]

    def similar_items(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Items nearest to one item by cosine similarity of their factors.

        Args:
            item: item id.
            k: maximum number of neighbours.

        Returns:
            Up to k item ids (never `item` itself), most similar first, and
            their cosine similarities.
        """
        norms = self._item_norms()
        similarity = self.item_factors @ self.item_factors[item]
        similarity = similarity / np.maximum(norms * norms[item], 1e-12)
        similarity[item] = -np.inf
        kept = min(k, len(similarity) - 1)
        if kept <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        candidates = np.argpartition(-similarity, kept - 1)[:kept]
        ids = candidates[np.argsort(-similarity[candidates], kind="stable")]
        return ids.astype(np.int64), similarity[ids]

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Serialise without pickle.

        Returns:
            A JSON-ready config and the arrays `user_factors`, `item_factors`.
        """
        config = {
            "factors": self.factors,
            "regularization": self.regularization,
            "iterations": self.iterations,
            "alpha": self.alpha,
            "random_state": self.random_state,
        }
        return config, {"user_factors": self.user_factors, "item_factors": self.item_factors}

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "ALSModel":
        """Rebuild a fitted model from `to_state` output.

        Args:
            config: the JSON config.
            arrays: the arrays.

        Returns:
            The model.
        """
        model = cls(**config)
        model._user_factors = np.asarray(arrays["user_factors"], dtype=np.float32)
        model._item_factors = np.asarray(arrays["item_factors"], dtype=np.float32)
        return model


def _to_numpy(factors) -> np.ndarray:
    # implicit's GPU model holds implicit.gpu.Matrix objects, the CPU model numpy arrays.
    if hasattr(factors, "to_numpy"):
        factors = factors.to_numpy()
    return np.asarray(factors, dtype=np.float32)
