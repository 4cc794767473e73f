"""Approximate nearest neighbours over unit vectors by inner product: usearch's HNSW graph (PyPI `usearch`, whose
kernels are chosen for the CPU at run time, so it runs on machines without AVX-512), keyed by integers.

Recall@10 against an exact scan at these settings is measured in `python -m bench ann`.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Graph:
    connectivity: int  # graph degree
    expansion_add: int  # search breadth while building
    expansion_search: int  # search breadth while querying


GRAPH = Graph(connectivity=16, expansion_add=64, expansion_search=128)
# A million listings hold many near-copies (editions, sizes, colours): a degree-16 graph fills each node's edges
# with its own near-copies and searches miss the rest of their cluster (bench ann: recall 0.61 at 1M).
LARGE_GRAPH = Graph(connectivity=32, expansion_add=200, expansion_search=256)
LARGE_GRAPH_ITEMS = 300_000


def graph_for(count: int) -> Graph:
    """The graph's settings for an index of `count` vectors."""
    return LARGE_GRAPH if count >= LARGE_GRAPH_ITEMS else GRAPH


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a zero row stays zero): inner products of the rows are then cosines."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def ann_build(keys: np.ndarray, vectors: np.ndarray, *, threads: int):
    """An index of unit `vectors` (n, d) under `keys` (n,)."""
    from usearch.index import Index

    graph = graph_for(len(keys))
    index = Index(
        ndim=vectors.shape[1], metric="ip", dtype="f32", connectivity=graph.connectivity,
        expansion_add=graph.expansion_add, expansion_search=graph.expansion_search,
    )
    index.add(np.asarray(keys, dtype=np.uint64), np.ascontiguousarray(vectors, dtype=np.float32), threads=threads)
    return index


def ann_open(path: Path):
    """An index saved with `index.save(path)`, mapped read-only: processes that open one file share its pages."""
    from usearch.index import Index

    index = Index.restore(str(path), view=True)
    # A saved index keeps its degree but not its search breadth: a restored one would search with usearch's default.
    index.expansion_search = graph_for(index.size).expansion_search
    return index


def ann_search(index, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Up to k (key, similarity) nearest to a unit `vector`, best first."""
    found = index.search(np.asarray(vector, dtype=np.float32), k)
    # usearch's inner-product distance is 1 - similarity.
    return [(key, 1.0 - distance) for key, distance in zip(found.keys.tolist(), found.distances.tolist())]
