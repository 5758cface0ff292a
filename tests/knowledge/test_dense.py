"""FAISS index kinds at the vector level (the sync tests cover them through collections)."""

from __future__ import annotations

import numpy as np
import pytest


def test_ivfpq_trains_on_the_first_vectors_finds_neighbours_and_removes(tmp_path):
    from hybrid.config import IndexConfig
    from hybrid.errors import Invalid
    from hybrid.knowledge import dense

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 64))
    vectors = centres[rng.integers(0, 20, 3000)] + 0.3 * rng.normal(size=(3000, 64))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    config = IndexConfig(kind="ivfpq", ivf_nlist=32, ivf_nprobe=8, pq_m=32, pq_nbits=6)
    index = dense.add(dense.new_index(64, config), vectors, np.arange(3000), config)
    dense.configure(index, config)
    found = sum(i in dense.search(index, vectors[i : i + 1], 10)[1] for i in range(50))
    assert found >= 45  # a stored vector finds itself among its 10 nearest (recall: bench)
    index = dense.remove(index, np.arange(100), config)
    assert index.ntotal == 2900 and not set(dense.ids_of(index)) & set(range(100))
    with pytest.raises(Invalid, match=r"index\.kind ivfpq: the first sync brings 100 vectors"):
        dense.add(dense.new_index(64, config), vectors[:100], np.arange(100), config)
    with pytest.raises(Invalid, match=r"index\.pq_m: 48 does not divide the dimension 64"):
        dense.add(dense.new_index(64, config.model_copy(update={"pq_m": 48})), vectors,
                  np.arange(3000), config.model_copy(update={"pq_m": 48}))  # fmt: skip


def test_ivfsq_keeps_ivf_recall_in_a_quarter_of_the_memory():
    import faiss

    from hybrid.config import IndexConfig
    from hybrid.knowledge import dense

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(20, 64))
    vectors = centres[rng.integers(0, 20, 3000)] + 0.3 * rng.normal(size=(3000, 64))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(3000) * 7 + 11  # explicit ids, not positions (chunk hashes in a sync)
    built = {}
    for kind in ("ivf", "ivfsq"):
        config = IndexConfig(kind=kind, ivf_nlist=32, ivf_nprobe=8)
        built[kind] = dense.add(dense.new_index(64, config), vectors, ids, config)
        dense.configure(built[kind], config)
    found = {
        kind: [dense.search(index, vectors[i : i + 1], 10)[1] for i in range(100)]
        for kind, index in built.items()
    }
    agree = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found["ivf"], found["ivfsq"])])
    assert agree >= 0.9  # the same neighbours as IVF with full vectors
    size = {kind: faiss.serialize_index(index).nbytes for kind, index in built.items()}
    assert size["ivfsq"] < 0.4 * size["ivf"]
    index = built["ivfsq"]
    back = dense.vectors_of(index, ids[:5])  # 8-bit codes: close, not equal
    assert 0 < np.abs(back - vectors[:5]).max() < 0.02
    index = dense.remove(index, ids[:100], config)
    assert index.ntotal == 2900 and not set(dense.ids_of(index)) & set(ids[:100])
