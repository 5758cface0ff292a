"""Retrieval eval on PolicyQA: recall@k, MRR@10, nDCG@10 for dense, BM25 and hybrid search.

``granularity="document"``: each privacy policy is one document (its paragraphs in order,
blank-line separated), chunked by the recipe. ``"paragraph"``: each paragraph is its own
document ``<policy>/p<i>.txt``, which reproduces the paragraphs-as-chunks setting of published
baselines. A question's gold is every chunk overlapping its answer span. Scoped search filters
to the question's own policy (as a user asking about one policy would); unscoped searches all.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hybrid.config import HybridConfig
from hybrid.datasets.policyqa import Granularity, Question, load_policyqa
from hybrid.datasets.qa_sets import QASet, index_set
from hybrid.evals.results import RetrievalResult
from hybrid.knowledge import store
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.search import Filters, Retriever

MODES = ("dense", "bm25", "hybrid")
KS = (1, 5, 10)


def _gold(retriever: Retriever, question: Question) -> set[str]:
    return {c.chunk_id for c in retriever.overlapping(question.doc_id, question.spans)}


def _scores(ranked: list[str], gold: set[str]) -> dict[str, float]:
    # Gold chunks count as one relevant item (overlapping chunks may both hold the answer),
    # so the ideal DCG is 1 and chunkings with and without overlap compare fairly.
    first = next((i for i, chunk in enumerate(ranked[:10]) if chunk in gold), None)
    out = {f"recall@{k}": float(first is not None and first < k) for k in KS}
    out["mrr@10"] = 0.0 if first is None else 1.0 / (first + 1)
    out["ndcg@10"] = 0.0 if first is None else 1.0 / math.log2(first + 2)
    return out


def _score_all(
    retriever: Retriever, questions: list[Question], vectors: np.ndarray, progress: bool
) -> tuple[dict[str, dict[str, float]], int]:
    """Summed metrics per "scope/mode" over the questions, and how many had no gold chunk."""
    totals = {f"{scope}/{mode}": {} for scope in ("scoped", "unscoped") for mode in MODES}
    skipped = 0
    for i, question in enumerate(tqdm(questions, desc="questions", disable=not progress)):
        gold = _gold(retriever, question)
        if not gold:
            skipped += 1  # an answer span that no chunk covers (should not happen)
            continue
        for scope in ("scoped", "unscoped"):
            filters = Filters(sources=(question.scope,)) if scope == "scoped" else Filters()
            for mode in MODES:
                hits = retriever.search(
                    question.text, k=10, mode=mode, filters=filters, query_vector=vectors[i : i + 1]
                )
                for name, value in _scores([h.chunk_id for h in hits], gold).items():
                    bucket = totals[f"{scope}/{mode}"]
                    bucket[name] = bucket.get(name, 0.0) + value
    return totals, skipped


def evaluate(
    data_path: Path,
    config: HybridConfig,
    embedder: Embedder,
    collection: str,
    limit: int | None = None,
    progress: bool = True,
    granularity: Granularity = "document",
) -> RetrievalResult:
    """Index the policies into ``collection`` (incrementally) and score every question."""
    docs, questions = load_policyqa(data_path, granularity)
    if limit:
        questions = questions[:: max(1, len(questions) // limit)][:limit]  # spread over policies
    started = time.perf_counter()
    report = index_set(collection, QASet(collection, docs, None, []), config, embedder, progress)
    index_seconds = time.perf_counter() - started
    retriever = Retriever(
        store.collection_dir(config.index_dir, collection), embedder, config.search
    )
    vectors = embedder.embed([q.text for q in questions], progress=progress)  # batched once
    totals, skipped = _score_all(retriever, questions, vectors, progress)
    scored = len(questions) - skipped
    metrics = {
        key: {name: round(100 * value / max(scored, 1), 2) for name, value in bucket.items()}
        for key, bucket in totals.items()
    }
    return RetrievalResult(
        dataset=str(data_path),
        questions=scored,
        skipped=skipped,
        granularity=granularity,
        documents=len(docs),
        chunks=int(np.asarray(retriever.snapshot.bm25_ids).size),
        default_mode=config.search.mode,
        embedder=embedder.name,
        embedder_dtype=str(embedder.dtype).removeprefix("torch."),
        chunking=config.chunking.model_dump(),
        search=config.search.model_dump(),
        index_seconds=round(index_seconds, 2),
        chunks_embedded=report.chunks_embedded,
        metrics=metrics,
    )
