"""FAISS indexes with explicit int64 ids: build, update in place, filtered search.

Flat and HNSW sit in an IndexIDMap2; IVF, IVF-SQ and IVF-PQ keep ids natively in their inverted
lists (with a hashtable direct map, so vectors can be reconstructed and removed by id; the
quantised kinds give back their approximation).
"""

from __future__ import annotations

import faiss
import numpy as np

from hybrid.config import IndexConfig
from hybrid.errors import Invalid


def new_index(dim: int, config: IndexConfig, training: np.ndarray | None = None) -> faiss.Index:
    """An empty inner-product index with explicit ids: flat, HNSW or IVF (flat, 8-bit scalar or
    product-quantised lists).

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
        quantizer = faiss.IndexFlatIP(dim)
        if config.kind == "ivfpq":
            _check_pq(dim, n, config)
            inner = faiss.IndexIVFPQ(
                quantizer, dim, nlist, config.pq_m, config.pq_nbits, faiss.METRIC_INNER_PRODUCT
            )
        elif config.kind == "ivfsq":  # one byte per dimension, ranges trained per dimension
            inner = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
        else:
            inner = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        inner.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct + remove by id
        if n:
            inner.train(training)
        return inner
    return faiss.IndexIDMap2(inner)


def _check_pq(dim: int, n: int, config: IndexConfig) -> None:
    if dim % config.pq_m:
        raise Invalid(f"index.pq_m: {config.pq_m} does not divide the dimension {dim}")
    needed = 39 * 2**config.pq_nbits  # FAISS's advice: 39 points per centroid
    if n and n < needed:
        raise Invalid(
            f"index.kind ivfpq: the first sync brings {n} vectors, and product quantisation "
            f"trains {2**config.pq_nbits} centroids per sub-vector (at least {needed} vectors). "
            "Start the collection as flat or ivf, or sync more documents at once."
        )


def _inner(index: faiss.Index) -> faiss.Index:
    return faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index


def configure(index: faiss.Index, config: IndexConfig) -> None:
    """Apply search-time knobs. Set on the inner index: IndexIDMap copies search params as the
    base class, which would drop efSearch / nprobe."""
    inner = _inner(index)
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = config.hnsw_ef_search
    elif isinstance(inner, faiss.IndexIVF):
        inner.nprobe = config.ivf_nprobe


def ids_of(index: faiss.Index) -> np.ndarray:
    """Every stored id."""
    if isinstance(index, faiss.IndexIVF):
        lists = index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(index.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    return faiss.vector_to_array(index.id_map).astype(np.int64)


def vectors_of(index: faiss.Index, ids: np.ndarray) -> np.ndarray:
    """(len(ids), dim) stored vectors, to reuse instead of re-embedding unchanged text."""
    out = np.empty((len(ids), index.d), dtype=np.float32)
    for row, chunk in enumerate(ids):
        out[row] = index.reconstruct(int(chunk))
    return out


def add(
    index: faiss.Index, vectors: np.ndarray, ids: np.ndarray, config: IndexConfig
) -> faiss.Index:
    """Add vectors; returns the index to use from now on (IVF is created trained, on first use)."""
    if len(ids) == 0:
        return index
    if config.kind in ("ivf", "ivfsq", "ivfpq") and not _inner(index).is_trained:
        index = new_index(index.d, config, training=vectors)
    index.add_with_ids(vectors, ids)
    return index


def remove(index: faiss.Index, ids: np.ndarray, config: IndexConfig) -> faiss.Index:
    """Delete ids for real. HNSW graphs cannot drop nodes, so HNSW is rebuilt without them."""
    if len(ids) == 0:
        return index
    if isinstance(index, faiss.IndexIVF):
        ids = np.ascontiguousarray(ids, dtype=np.int64)  # the selector borrows this buffer
        index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))
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
    index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None
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
