"""Claim-level verification cost: a 5-sentence answer checked against 3 retrieved chunks (the
embedded MiniLM; rules, no NLI model), against the bag-of-words check it replaced (one overlap
and figure lookup per whole chunk, same embeddings), side by side in one process.

    .venv/bin/python benchmarks/bench_verify.py [--repeats 50]

Prints medians (ms) and the ratio; writes benchmarks/results/verify.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")

from hybrid.answer.citations import parse, verify  # noqa: E402
from hybrid.config import HybridConfig, VerifyConfig  # noqa: E402
from hybrid.knowledge.embedder import Embedder  # noqa: E402
from hybrid.knowledge.lexical import tokenize  # noqa: E402
from hybrid.knowledge.search import SearchResult  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHUNKS = [
    "Items can be returned within 30 days of delivery for a full refund. Sale items can be "
    "returned within 14 days and are refunded at the price you actually paid, not at the "
    "original price. Gift cards are never refundable. Returns by post cost 4.95 EUR, which we "
    "deduct from your refund; returns in store are free.",
    "Standard delivery costs 5.95 EUR per order and takes 3 to 5 working days within the EU. "
    "Orders to the Faroe Islands take 21 to 28 days and are sent by sea freight. Express "
    "delivery arrives the next working day if you order before 2 pm.",
    "We refund your original payment method within 5 business days of receiving your return. "
    "If you paid with store credit, the refund is issued as store credit. Swimwear cannot be "
    "returned unless the hygiene seal is still attached.",
]
ANSWER = (
    "Sale items can be returned within 14 days [1]. They are refunded at the original price [1]. "
    "Orders to the Faroe Islands take 3 to 5 working days [2]. Refunds reach your original "
    "payment method within five business days [3]. Gift cards are never refundable [1]."
)


def bag_of_words(answer: str, chunks: list[str], embedder: Embedder) -> int:
    """The check it replaced: overlap with the whole chunk and its figures anywhere in it."""
    parsed = parse(answer, len(chunks))
    sentences = [s.text for s in parsed.sentences]
    embedder.embed(sentences + chunks)
    chunk_words = [set(w) for w in tokenize(chunks)]
    passed = 0
    for sentence, words in zip(parsed.sentences, tokenize(sentences)):
        for n in sentence.cited:
            passed += len(set(words) & chunk_words[n - 1]) / max(len(set(words)), 1) >= 0.5
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    embedder = Embedder(HybridConfig().embedder)
    hits = [
        SearchResult(n, 1.0, f"c{n}", "p.md", t, None, None, "", 0, len(t))
        for n, t in enumerate(CHUNKS, 1)
    ]
    config = VerifyConfig()
    parsed = parse(ANSWER, len(CHUNKS))
    for _ in range(5):  # warm-up: tokenizer caches, first matmuls
        verify(parsed, hits, embedder.embed, config)
        bag_of_words(ANSWER, CHUNKS, embedder)
    claims_ms, old_ms = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine state
        start = time.perf_counter()
        checks = verify(parse(ANSWER, len(CHUNKS)), hits, embedder.embed, config)
        claims_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        bag_of_words(ANSWER, CHUNKS, embedder)
        old_ms.append((time.perf_counter() - start) * 1000)
    labels = [c.label for c in checks]
    result = {
        "answer_sentences": len(parsed.sentences),
        "chunks": len(CHUNKS),
        "labels": labels,
        "claims_median_ms": round(statistics.median(claims_ms), 2),
        "bag_of_words_median_ms": round(statistics.median(old_ms), 2),
        "ratio": round(statistics.median(claims_ms) / statistics.median(old_ms), 2),
        "repeats": args.repeats,
        "cpu_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    print(json.dumps(result, indent=2))
    out = REPO / "benchmarks" / "results" / "verify.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
