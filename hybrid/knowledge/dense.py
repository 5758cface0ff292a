"""FAISS indexes with explicit int64 ids: build, update in place, filtered search."""

from __future__ import annotations

import faiss
import numpy as np

from hybrid.config import IndexConfig


def new_index(dim: int, config: IndexConfig, training: np.ndarray | None = None) -> faiss.IndexIDMap2:
    """An empty IndexIDMap2 over flat, HNSW or IVF inner-product search.

    IVF is trained on ``training`` (the first vectors added), with nlist capped so that
    every list gets ~39 training points, as FAISS recommends.
    """
    if config.kind == "flat":
        inner = faiss.IndexFlatIP(dim)
    elif config.kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    else:
        n = 0 if training is None else len(training)
        nlist = max(1, min(config.ivf_nlist, n // 39))
        inner = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        inner.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct + remove by id
        if n:
            inner.train(training)
    return faiss.IndexIDMap2(inner)


def _inner(index: faiss.IndexIDMap2) -> faiss.Index:
    return faiss.downcast_index(index.index)


def configure(index: faiss.IndexIDMap2, config: IndexConfig) -> None:
    """Apply search-time knobs. Set on the inner index: IndexIDMap copies search params as the
    base class, which would drop efSearch / nprobe."""
    inner = _inner(index)
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = config.hnsw_ef_search
    elif isinstance(inner, faiss.IndexIVF):
        inner.nprobe = config.ivf_nprobe


def ids_of(index: faiss.IndexIDMap2) -> np.ndarray:
    return faiss.vector_to_array(index.id_map).astype(np.int64)


def vectors_of(index: faiss.IndexIDMap2, ids: np.ndarray) -> np.ndarray:
    """(len(ids), dim) stored vectors, to reuse instead of re-embedding unchanged text."""
    out = np.empty((len(ids), index.d), dtype=np.float32)
    for row, chunk in enumerate(ids):
        out[row] = index.reconstruct(int(chunk))
    return out


def add(index: faiss.IndexIDMap2, vectors: np.ndarray, ids: np.ndarray, config: IndexConfig) -> faiss.IndexIDMap2:
    """Add vectors; returns the index to use from now on (IVF is created trained, on first use)."""
    if len(ids) == 0:
        return index
    if config.kind == "ivf" and not _inner(index).is_trained:
        index = new_index(index.d, config, training=vectors)
    index.add_with_ids(vectors, ids)
    return index


def remove(index: faiss.IndexIDMap2, ids: np.ndarray, config: IndexConfig) -> faiss.IndexIDMap2:
    """Delete ids for real. HNSW graphs cannot drop nodes, so HNSW is rebuilt without them."""
    if len(ids) == 0:
        return index
    if not isinstance(_inner(index), faiss.IndexHNSW):
        index.remove_ids(faiss.IDSelectorBatch(ids.astype(np.int64)))
        return index
    keep = np.setdiff1d(ids_of(index), ids)
    vectors = vectors_of(index, keep)
    rebuilt = new_index(index.d, config)
    rebuilt.add_with_ids(vectors, keep)
    return rebuilt


def search(
    index: faiss.IndexIDMap2, query: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) for one (1, dim) query; ``allowed`` restricts to those ids."""
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    params = None
    if allowed is not None:
        if len(allowed) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed.astype(np.int64)))
    scores, ids = index.search(query, k, params=params)
    found = ids[0] >= 0
    return scores[0][found], ids[0][found]
