"""The answers grid: base vs base+RAG vs tuned vs tuned+RAG on one question set.

Every arm is a variant of one serving route (same template, evidence selection, generation
settings and verification): closed-book arms read no collection, base arms use no adapter. Each
question goes through ``Router.compose``, the engine and ``Router.finish``, as a request to the
server does, so the grid measures the product rather than a copy of it.

Over 300 lines: the grid from sampling to the chart (sample, ask, score, write, plot), one
command read top to bottom; the metrics live in ``metrics.py``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hybrid.answer.router import Router
from hybrid.answer.types import Overruled
from hybrid.config import HybridConfig
from hybrid.datasets.qa_sets import QA, QASet, index_set
from hybrid.evals import metrics, results
from hybrid.evals.results import ArmScores, GridResult, GridSettings
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.search import SearchResult
from hybrid.runtime.engine import Engine

ARMS = ("base", "base+rag", "tuned", "tuned+rag")
TUNED = "tuned"  # the adapter's name inside the eval's engine
CHART = ("token_f1", "answer_recall", "fact_match", "citation_precision", "refusal_recall")
CHART_BAD = ("false_refusal", "echo_rate", "loop_rate")


@dataclass(frozen=True)
class Outcome:
    """One question asked in one arm."""

    qa: QA
    arm: str
    text: str
    refused: bool
    cited: tuple[tuple[SearchResult, bool], ...]  # (cited evidence, verified)
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    generated: bool  # False: the route refused before calling the model
    gold_chunks: frozenset[str] = frozenset()  # chunks holding the gold span (SQuAD-style sets)
    overruled: Overruled | None = None  # what a check changed (Answer.overruled)
    said: str = ""  # what the model wrote, before the checks ("" when it was not asked)


def parse_arms(text: str) -> tuple[str, ...]:
    arms = tuple(a.strip() for a in text.split(",") if a.strip())
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not arms:
        raise ValueError(f"--arms: unknown arm {unknown[0] if unknown else text!r}; known: {ARMS}")
    return arms


def sample(questions: list[QA], limit: int | None, seed: int) -> list[QA]:
    """A deterministic sample of ``limit`` questions, kept in their file order."""
    if not limit or limit >= len(questions):
        return list(questions)
    chosen = sorted(random.Random(seed).sample(range(len(questions)), limit))
    return [questions[i] for i in chosen]


def arm_config(config: HybridConfig, route_name: str, collection: str, adapter: Path | None):
    """The recipe with one route per arm, all copies of ``route_name``."""
    if route_name not in config.routes:
        raise ValueError(f"--route: unknown route {route_name!r}; known: {sorted(config.routes)}")
    route = config.routes[route_name]
    routes = {}
    for arm in ARMS:
        rag, tuned = arm.endswith("+rag"), arm.startswith("tuned")
        if tuned and adapter is None:
            continue
        routes[arm] = route.model_copy(
            update={
                "collections": (collection,) if rag else (),
                "adapter": TUNED if tuned else None,
            }
        )
    adapters = {TUNED: adapter} if adapter is not None else {}
    runtime = config.runtime.model_copy(update={"adapters": adapters})
    # The grid measures the adapter it is given, promoted or not (it is how one gets promoted).
    serve = config.serve.model_copy(update={"require_promotion": False})
    return config.model_copy(update={"routes": routes, "runtime": runtime, "serve": serve})


def ask(router: Router, arm: str, qa: QA, timeout: float) -> Outcome:
    started = time.perf_counter()
    comp = router.compose(arm, [{"role": "user", "content": qa.question}], documents=qa.scope)
    text, completion_tokens = "", 0
    ticket = router.submit(comp)  # the server's path: None when the route refuses
    if ticket is not None:
        result = ticket.result(timeout)
        if result.error:
            raise RuntimeError(f"{qa.source}: generation failed: {result.error}")
        text, completion_tokens = result.text, result.completion_tokens
    answer = router.finish(comp, text)
    latency = time.perf_counter() - started
    cited = tuple((comp.sources[c["n"] - 1].chunk, bool(c["verified"])) for c in answer.citations)
    return Outcome(
        qa,
        arm,
        answer.text,
        answer.refused,
        cited,
        latency,
        comp.prompt_tokens,
        completion_tokens,
        not comp.refused,
        overruled=answer.overruled,
        said=text,
    )


def holds_gold(chunk: SearchResult, qa: QA) -> bool:
    """A cited sentence (or chunk) is gold: its own text overlaps the gold evidence span, or,
    where the set names only gold documents (KB sets), it belongs to one."""
    if chunk.doc_id not in qa.documents:
        return False
    if not qa.evidence:
        return True
    return any(chunk.char_start < end and start < chunk.char_end for start, end in qa.evidence)


def cites_gold(cited: SearchResult, outcome: Outcome) -> bool:
    """The citation points at a chunk that holds the gold evidence (a citation names a chunk
    and its page; the sentence shown is one of that chunk's), or at a gold document where the
    set has no spans."""
    if outcome.qa.evidence and outcome.gold_chunks:
        return cited.chunk_id in outcome.gold_chunks
    return holds_gold(cited, outcome.qa)


def gold_chunks_of(router: Router, collection: str, questions: Sequence[QA]) -> dict:
    """The chunks overlapping each question's gold evidence span (SQuAD-style sets)."""
    retriever = router.retriever(collection)
    if retriever is None:
        return {}
    return {
        qa: frozenset(c.chunk_id for c in retriever.overlapping(qa.documents[0], qa.evidence))
        for qa in questions
        if qa.evidence and qa.documents
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None


def score(outcomes: list[Outcome], instructions: str) -> ArmScores:
    """The grid's metrics for one arm (0-1; None where nothing was there to measure).

    ``citation_precision`` / ``citation_recall`` count a citation whose chunk holds the gold
    evidence; ``citation_precision_sentence`` asks more: the cited sentence itself overlaps it.
    """
    answerable = [o for o in outcomes if o.qa.answerable]
    unanswerable = [o for o in outcomes if not o.qa.answerable]
    generated = [o for o in outcomes if o.generated]
    answered = [o for o in outcomes if not o.refused]
    cited = [(c, o) for o in answerable for c, _ in o.cited]
    latencies = [o.latency_s for o in outcomes]
    return ArmScores.model_validate(
        {
            "token_f1": _mean([metrics.token_f1(o.text, o.qa.answers) for o in answerable]),
            "answer_recall": _mean(
                [metrics.answer_recall(o.text, o.qa.answers) for o in answerable]
            ),
            "fact_match": _mean([metrics.fact_match(o.text, o.qa.answers) for o in answerable]),
            "fact_match_verified": _mean(
                [
                    metrics.fact_match(o.text, o.qa.answers)
                    and any(ok and cites_gold(c, o) for c, ok in o.cited)
                    for o in answerable
                ]
            ),
            "citation_precision": _mean([cites_gold(c, o) for c, o in cited]),
            "citation_precision_sentence": _mean([holds_gold(c, o.qa) for c, o in cited]),
            "citation_recall": _mean(
                [any(cites_gold(c, o) for c, _ in o.cited) for o in answerable]
            ),
            "verified_rate": _mean(
                [bool(o.cited) and all(ok for _, ok in o.cited) for o in answered]
            ),
            "refusal_recall": _mean([o.refused for o in unanswerable]),
            "false_refusal": _mean([o.refused for o in answerable]),
            "echo_rate": _mean([metrics.is_echo(o.text, instructions) for o in generated]),
            "loop_rate": _mean([metrics.is_loop(o.text) for o in generated]),
            "latency_p50_s": round(float(np.percentile(latencies, 50)), 3) if latencies else None,
            "latency_p95_s": round(float(np.percentile(latencies, 95)), 3) if latencies else None,
            "answer_tokens_mean": _mean([o.completion_tokens for o in generated]),
            "prompt_tokens_mean": _mean([o.prompt_tokens for o in generated]),
        }
    )


def run_grid(
    qa_set: QASet,
    config: HybridConfig,
    embedder: Embedder,
    route_name: str,
    arms: Sequence[str],
    adapter: Path | None,
    engine: Engine | None = None,
    progress: bool = True,
    timeout: float = 300.0,
    concurrency: int = 1,
) -> tuple[GridResult, list[Outcome]]:
    """Index the set's documents, ask every question in every arm; (result, outcomes).

    ``concurrency`` > 1 keeps that many questions in flight (the engine batches them):
    decoding is greedy, but which questions share a batch can change bf16 rounding, so long
    answers may differ run to run; latencies are then under load.

    Example: ``run_grid(read_kb(docs, questions), config, embedder, "support", ARMS, path)``
    """
    if any(a.startswith("tuned") for a in arms) and adapter is None:
        raise ValueError("the tuned arms need an adapter (--adapter NAME|PATH)")
    collection = f"eval-answers-{qa_set.name}"
    index_set(collection, qa_set, config, embedder, progress)
    grid_config = arm_config(config, route_name, collection, adapter)
    own_engine = engine is None
    if engine is None:
        from hybrid.runtime import create_engine

        engine = create_engine(grid_config.runtime)
    router = Router(grid_config, engine, embedder)
    route = grid_config.routes[arms[0]]
    gold = gold_chunks_of(router, collection, qa_set.questions)
    # The scaffolding without the refusal sentence: saying the refusal is not an echo.
    instructions = router.templates[(arms[0], "answer")].render(question="", chunks=[], refusal="")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    try:
        outcomes = _ask_all(router, qa_set, arms, gold, timeout, concurrency, progress)
    finally:
        if own_engine:
            engine.close()
    result = GridResult(
        arms={arm: score([o for o in outcomes if o.arm == arm], instructions) for arm in arms},
        n=len(qa_set.questions),
        answerable=sum(q.answerable for q in qa_set.questions),
        unanswerable=sum(not q.answerable for q in qa_set.questions),
        config=GridSettings(
            set=qa_set.name,
            route=route_name,
            route_settings=route.model_dump(mode="json", exclude={"collections", "adapter"}),
            base_model=grid_config.runtime.base_model,
            adapter=str(adapter) if adapter else None,
            engine=engine.name,
            concurrency=concurrency,
            embedder=embedder.name,
            search=config.search.model_dump(),
        ),
    )
    return result, outcomes


def _ask_all(
    router: Router,
    qa_set: QASet,
    arms: Sequence[str],
    gold: dict,
    timeout: float,
    concurrency: int,
    progress: bool,
) -> list[Outcome]:
    """Every question in every arm, ``concurrency`` in flight; outcomes in question order."""
    steps = [(qa, arm) for qa in qa_set.questions for arm in arms]
    bar = tqdm(total=len(steps), desc="answers", unit="answer", disable=not progress)
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            futures = [pool.submit(ask, router, arm, qa, timeout) for qa, arm in steps]
            for future in futures:
                future.add_done_callback(lambda _: bar.update())
            return [
                replace(future.result(), gold_chunks=gold.get(qa, frozenset()))
                for future, (qa, _) in zip(futures, steps)
            ]
    finally:
        bar.close()


def write_outputs(result: GridResult, outcomes: list[Outcome], output: Path) -> list[Path]:
    """The JSON, one JSONL line per answer (for reading the misses), and the bar chart PNG."""
    results.write(result, output)
    answers = output.with_suffix(".answers.jsonl")
    with open(answers, "w", encoding="utf-8") as handle:
        for o in outcomes:
            row = {
                "arm": o.arm,
                "question": o.qa.question,
                "scope": list(o.qa.scope),  # SQuAD sets: its own document (questions repeat)
                "gold": list(o.qa.answers),
                "answer": o.text,
                "refused": o.refused,
                "overruled": o.overruled,
                "said": o.said,  # the model's own words, before the checks overruled any
                "cited": [
                    {
                        "document": c.doc_id,
                        "page": c.page_start,
                        "verified": ok,
                        "gold": cites_gold(c, o),
                        "gold_sentence": holds_gold(c, o.qa),
                    }
                    for c, ok in o.cited
                ],
                "latency_s": round(o.latency_s, 3),
            }
            handle.write(json.dumps(row) + "\n")
    chart = output.with_suffix(".png")
    plot(result, chart)
    return [output, answers, chart]


def plot(result: GridResult, path: Path) -> None:
    """Grouped bars: one group per metric, one bar per arm (higher is better on the left,
    lower is better on the right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(result.arms)
    names = [*CHART, *CHART_BAD]
    width = 0.8 / max(len(arms), 1)
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=110)
    for i, arm in enumerate(arms):
        values = [getattr(result.arms[arm], n) or 0.0 for n in names]
        xs = np.arange(len(names)) + (i - (len(arms) - 1) / 2) * width
        ax.bar(xs, values, width, label=arm)
    ax.axvline(len(CHART) - 0.5, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks(np.arange(len(names)), [n.replace("_", " ") for n in names], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("0-1 (left: higher is better; right: lower)")
    config = result.config
    ax.set_title(f"answers grid: {config.set}, route {config.route}, n={result.n}")
    ax.legend(ncol=len(arms), fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
