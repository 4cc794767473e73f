"""Approximate nearest neighbours over unit vectors by inner product: usearch's HNSW graph (PyPI `usearch`, whose
kernels are chosen for the CPU at run time, so it runs on machines without AVX-512), keyed by integers.

Recall@10 against an exact scan at these settings is measured in `python -m bench ann`.
"""

from pathlib import Path

import numpy as np

CONNECTIVITY = 16  # graph degree
EXPANSION_ADD = 64  # search breadth while building
EXPANSION_SEARCH = 128  # search breadth while querying


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a zero row stays zero): inner products of the rows are then cosines."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def ann_build(keys: np.ndarray, vectors: np.ndarray, *, threads: int):
    """An index of unit `vectors` (n, d) under `keys` (n,)."""
    from usearch.index import Index

    index = Index(
        ndim=vectors.shape[1], metric="ip", dtype="f32", connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )
    index.add(np.asarray(keys, dtype=np.uint64), np.ascontiguousarray(vectors, dtype=np.float32), threads=threads)
    return index


def ann_open(path: Path):
    """An index saved with `index.save(path)`, mapped read-only: processes that open one file share its pages."""
    from usearch.index import Index

    return Index.restore(str(path), view=True)


def ann_search(index, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Up to k (key, similarity) nearest to a unit `vector`, best first."""
    found = index.search(np.asarray(vector, dtype=np.float32), k)
    # usearch's inner-product distance is 1 - similarity.
    return [(key, 1.0 - distance) for key, distance in zip(found.keys.tolist(), found.distances.tolist())]
