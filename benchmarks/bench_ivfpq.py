"""Index kinds at scale: exact flat vs IVF vs IVF-SQ vs IVF-PQ on 1M synthetic 384-d vectors.

The vectors come from a low-rank Gaussian on the unit sphere in MiniLM's 384 dimensions (real
sentence embeddings concentrate in a few dozen directions; uniform random vectors would make
every approximate index look bad, and well-separated clusters would make IVF look perfect).
Each arm goes through hybrid's own ``dense`` module (the path a sync takes): build time
(training + adding), memory (the serialised index), recall@10 against exact search for 1,000
held-out queries, and median single-query latency, side by side in one process.

    .venv/bin/python benchmarks/bench_ivfpq.py                 # 1M vectors, about 15 minutes
    .venv/bin/python benchmarks/bench_ivfpq.py --vectors 200000
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import faiss
import numpy as np

from hybrid.config import IndexConfig
from hybrid.knowledge import dense

DIM = 384


def latent(n: int, basis: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """n unit vectors from a low-rank Gaussian (64 latent factors with a decaying spectrum,
    mapped into 384-d) plus isotropic noise, made in blocks (memory)."""
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        z = rng.standard_normal((size, basis.shape[0]), dtype=np.float32)
        block = z @ basis + noise * rng.standard_normal((size, DIM), dtype=np.float32)
        out[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def measure(name: str, config: IndexConfig, vectors, queries, truth, nprobes) -> list[dict]:
    started = time.perf_counter()
    index = dense.add(dense.new_index(DIM, config), vectors, np.arange(len(vectors)), config)
    build_s = time.perf_counter() - started
    size = faiss.serialize_index(index).nbytes
    rows = []
    for nprobe in nprobes:
        dense.configure(index, config.model_copy(update={"ivf_nprobe": nprobe}))
        _, found = index.search(queries, 10)
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
        latencies = []
        for q in queries[:200]:
            t0 = time.perf_counter()
            dense.search(index, q[None, :], 10)
            latencies.append((time.perf_counter() - t0) * 1000)
        rows.append(
            {
                "index": name,
                "nprobe": nprobe if config.kind != "flat" else None,
                "build_s": round(build_s, 1),
                "memory_mb": round(size / 2**20, 1),
                "recall_at_10": round(float(recall), 4),
                "query_p50_ms": round(statistics.median(latencies), 3),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--nlist", type=int, default=1024)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/ivfpq.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    # Sentence embeddings concentrate in a few dozen directions: 64 latent factors whose scale
    # decays like 1/sqrt(rank), plus noise carrying ~20% of the energy.
    scale = (1 / np.sqrt(np.arange(1, 65, dtype=np.float32)))[:, None]
    basis = scale * rng.standard_normal((64, DIM), dtype=np.float32) / np.sqrt(DIM)
    noise = 0.5 * float(np.sqrt((basis**2).sum() / DIM))
    vectors = latent(args.vectors, basis, rng, noise)
    queries = latent(args.queries, basis, rng, noise)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    del exact
    base = {"ivf_nlist": args.nlist}
    rows = measure("flat (exact)", IndexConfig(), vectors, queries, truth, [0])
    rows += measure("ivf", IndexConfig(kind="ivf", **base), vectors, queries, truth, [16, 64])
    sq = IndexConfig(kind="ivfsq", **base)  # 384 bytes a vector
    rows += measure("ivfsq (8 bits)", sq, vectors, queries, truth, [16, 64])
    for m in (48, 96):  # 48 or 96 bytes a vector (flat: 1,536)
        pq = IndexConfig(kind="ivfpq", pq_m=m, pq_nbits=8, **base)
        rows += measure(f"ivfpq (m={m}, 8 bits)", pq, vectors, queries, truth, [16, 64])
    flat = rows[0]
    for row in rows[1:]:
        print(
            f"{row['index']:22s} nprobe {row['nprobe']:3d}: recall@10 {row['recall_at_10']:.3f}, "
            f"memory {row['memory_mb'] / flat['memory_mb']:.3f}x flat, query p50 "
            f"{row['query_p50_ms'] / flat['query_p50_ms']:.3f}x flat, build {row['build_s']:.0f} s"
        )
    result = {"vectors": args.vectors, "dim": DIM, "queries": args.queries, "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
