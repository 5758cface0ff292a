"""Index benchmark: hybrid's build, one-document sync and query latency vs the raw floor.

One process, same chunks: (a) floor = raw sentence-transformers fp32 ``encode`` + ``faiss.add``;
(b) ``hybrid`` full build (load, chunk, embed, FAISS + BM25 + SQLite, atomic publish);
(c) sync after changing one document; (d) query latency p50/p95 over 200 queries.

    .venv/bin/python benchmarks/bench_index.py            # 10,000 chunks (about 5 minutes)
    .venv/bin/python benchmarks/bench_index.py --chunks 2000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import faiss  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

from hybrid.config import parse_config  # noqa: E402
from hybrid.embedded import embedder_path  # noqa: E402
from hybrid.knowledge import store  # noqa: E402
from hybrid.knowledge.chunking import Chunker  # noqa: E402
from hybrid.knowledge.embedder import Embedder  # noqa: E402
from hybrid.knowledge.loaders import load_bytes  # noqa: E402
from hybrid.knowledge.search import Retriever  # noqa: E402
from hybrid.knowledge.sync import scan_folder, sync_folder  # noqa: E402

PER_DOC = 25  # paragraphs (= chunks) per generated document
TOPICS = (
    "refund",
    "shipping",
    "warranty",
    "privacy",
    "cookies",
    "account",
    "payment",
    "delivery",
    "return",
    "consent",
    "retention",
    "carrier",
    "invoice",
    "support",
)
WORDS = (
    "the customer may request within days after purchase our team will process each "
    "order data personal information third parties we share only with providers who "
    "help us deliver services you can contact us at any time to ask about your rights "
    "including access erasure portability and objection to processing for marketing"
).split()


def paragraph(rng: random.Random) -> str:
    topic = rng.choice(TOPICS)
    words = [rng.choice(WORDS) for _ in range(60)]
    words[rng.randrange(60)] = topic
    text = f"{topic.capitalize()} rule {rng.randrange(10**6)}: " + " ".join(words)
    return text[:440].rsplit(" ", 1)[0] + "."


def write_corpus(folder: Path, n_chunks: int) -> None:
    rng = random.Random(1234)  # deterministic corpus
    for d in range(n_chunks // PER_DOC):
        body = "\n\n".join(paragraph(rng) for _ in range(PER_DOC))
        (folder / f"policy-{d:05d}.txt").write_text(body)


def floor_build(texts: list[str], batch_size: int) -> float:
    model = SentenceTransformer(str(embedder_path()), device="cpu")  # fp32, as users start
    started = time.perf_counter()
    vectors = model.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
    )
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    index.add_with_ids(vectors, np.arange(len(texts), dtype=np.int64))
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--syncs", type=int, default=5, help="one-document syncs to time")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_index.json"))
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)

    with tempfile.TemporaryDirectory() as tmp:
        folder, index_dir = Path(tmp) / "docs", Path(tmp) / "indexes"
        folder.mkdir()
        write_corpus(folder, args.chunks)
        config = parse_config(
            {"index_dir": str(index_dir), "chunking": {"unit": "chars", "size": 480, "overlap": 0}}
        )
        embedder = Embedder(config.embedder)
        chunker = Chunker(config.chunking, embedder.count_tokens)
        texts = [
            c.text
            for doc_id, path in scan_folder(folder).items()
            for c in chunker.split(load_bytes(path.read_bytes(), doc_id, config.ingest))
        ]
        print(
            f"corpus: {len(texts)} chunks, mean {statistics.mean(map(len, texts)):.0f} chars; "
            f"hybrid embeds in {str(embedder.dtype).removeprefix('torch.')}"
        )

        a = floor_build(texts, config.embedder.batch_size)
        print(f"(a) floor fp32 encode + faiss.add: {a:.1f} s, {len(texts) / a:.1f} chunks/s")

        started = time.perf_counter()
        report = sync_folder("bench", folder, config.knowledge, embedder)
        b = time.perf_counter() - started
        assert report.chunks_embedded == len(texts), "build must embed the same chunks"
        print(f"(b) hybrid full build:             {b:.1f} s, {len(texts) / b:.1f} chunks/s")

        syncs = []
        rng = random.Random(99)
        for _ in range(args.syncs):
            doc = folder / f"policy-{rng.randrange(args.chunks // PER_DOC):05d}.txt"
            doc.write_text(doc.read_text() + "\n\n" + paragraph(rng))
            started = time.perf_counter()
            report = sync_folder("bench", folder, config.knowledge, embedder)
            syncs.append(time.perf_counter() - started)
            assert report.updated == [doc.name] and report.chunks_embedded == 1, report
        c = statistics.median(syncs)
        print(f"(c) one-document sync (median of {len(syncs)}): {c * 1000:.0f} ms")

        retriever = Retriever(store.collection_dir(index_dir, "bench"), embedder, config.search)
        qrng = random.Random(7)
        queries = [
            f"{qrng.choice(TOPICS)} {' '.join(qrng.sample(WORDS, 5))}" for _ in range(args.queries)
        ]
        latency: dict[str, list[float]] = {}
        for mode in ("dense", "bm25", "hybrid"):
            retriever.search(queries[0], mode=mode)  # warm-up
            times = []
            for query in queries:
                started = time.perf_counter()
                retriever.search(query, k=10, mode=mode)
                times.append((time.perf_counter() - started) * 1000)
            latency[mode] = times
            print(
                f"(d) {mode:6s} query: p50 {percentile(times, 50):.1f} ms, "
                f"p95 {percentile(times, 95):.1f} ms"
            )

    result = {
        "chunks": len(texts),
        "embedder_dtype": str(embedder.dtype).removeprefix("torch."),
        "floor_chunks_per_s": len(texts) / a,
        "hybrid_chunks_per_s": len(texts) / b,
        "ratio_b_over_a": a / b,
        "one_doc_sync_ms_median": c * 1000,
        "ratio_c_over_b": c / b,
        "query_ms": {
            m: {"p50": percentile(t, 50), "p95": percentile(t, 95)} for m, t in latency.items()
        },
    }
    print(f"\nspeed ratio b/a (hybrid build vs fp32 floor): {result['ratio_b_over_a']:.2f}x")
    print(f"time ratio c/b (one-doc sync vs full build): {100 * result['ratio_c_over_b']:.2f}%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
