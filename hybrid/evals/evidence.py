"""The evidence eval: where the route ranks the sentence that holds the answer, with no model.

The 135M answerer quotes the evidence sentence numbered [1] for most questions, so the answers
grid's fact match is bounded by the ranking and by the checks that refuse before generating
(too far from the question, a noun no document holds). This eval runs the serving route's
``Router.retrieve`` alone: seconds a split instead of the grid's minutes, so a ranking change
is judged on every split, and against an earlier run question by question, before any grid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from hybrid.answer.router import Router
from hybrid.config import HybridConfig
from hybrid.datasets.qa_sets import QA, QASet, index_set
from hybrid.evals import metrics
from hybrid.evals.results import EvidenceResult
from hybrid.knowledge.embedder import Embedder


@dataclass(frozen=True)
class Ranked:
    """One question's evidence as the route would number it, [1] first."""

    qa: QA
    texts: tuple[str, ...]
    refused: bool  # the route refuses before generating
    unknown: tuple[str, ...]  # the nouns that made it refuse, if those did

    @property
    def rank(self) -> int | None:
        """1-based position of the first evidence text that holds a gold answer."""
        for n, text in enumerate(self.texts, start=1):
            if metrics.fact_match(text, self.qa.answers):
                return n
        return None


def rank_all(
    qa_set: QASet, config: HybridConfig, embedder: Embedder, route_name: str, progress: bool
) -> list[Ranked]:
    """Index the set's documents and rank every question's evidence through a copy of the
    route that reads them (no adapter, no engine: nothing is generated)."""
    if route_name not in config.routes:
        raise ValueError(f"--route: unknown route {route_name!r}; known: {sorted(config.routes)}")
    collection = f"eval-evidence-{qa_set.name}"
    index_set(collection, qa_set, config, embedder, progress)
    route = config.routes[route_name].model_copy(
        update={"collections": (collection,), "adapter": None}
    )
    router = Router(config.model_copy(update={"routes": {route_name: route}}), None, embedder)
    ranked = []
    for qa in tqdm(qa_set.questions, desc="evidence", unit="question", disable=not progress):
        found = router.retrieve(route_name, qa.question, documents=qa.scope)
        texts = tuple(h.chunk.text for h in found.hits)
        ranked.append(Ranked(qa, texts, found.refused, found.unknown))
    return ranked


def score(ranked: Sequence[Ranked], settings: dict) -> EvidenceResult:
    """The shares of answerable questions whose [1] (``first``) or any shown sentence
    (``shown``) holds a gold answer, their mean reciprocal rank, and the refusals before
    generation on both kinds of question."""
    answerable = [r for r in ranked if r.qa.answerable]
    unanswerable = [r for r in ranked if not r.qa.answerable]

    def share(rows: Sequence[Ranked], hit) -> float | None:
        return round(sum(map(hit, rows)) / len(rows), 4) if rows else None

    return EvidenceResult(
        first=share(answerable, lambda r: r.rank == 1 and not r.refused),
        shown=share(answerable, lambda r: r.rank is not None and not r.refused),
        mrr=share(answerable, lambda r: 0.0 if r.refused or r.rank is None else 1 / r.rank),
        refused_answerable=share(answerable, lambda r: r.refused),
        refused_unanswerable=share(unanswerable, lambda r: r.refused),
        n=len(ranked),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        config=settings,
    )


def write_rows(ranked: Sequence[Ranked], path: Path) -> Path:
    """One JSON line per question: its rank, refusal and the evidence as numbered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for r in ranked:
            row = {
                "question": r.qa.question,
                "gold": list(r.qa.answers),
                "documents": list(r.qa.documents),
                "rank": r.rank,
                "refused": r.refused,
                "unknown": list(r.unknown),
                "evidence": list(r.texts),
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def changes(ranked: Sequence[Ranked], earlier: Path) -> tuple[list[str], list[str]]:
    """Answerable questions whose [1] holds the answer now but not in the ``earlier`` rows
    file (gained), and the reverse (lost); a question the earlier run lacks is neither. A
    question is its text, gold answers and documents (PolicyQA asks "Do you use my
    information?" of many policies).

    Example: ``gained, lost = changes(ranked, Path("evidence-kb-heldout.rows.jsonl"))``
    """
    before = {}
    for number, line in enumerate(earlier.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            row = json.loads(line)
            key = (row["question"], tuple(row["gold"]), tuple(row["documents"]))
            before[key] = row["rank"] == 1 and not row["refused"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{earlier}:{number}: not a rows line ({error})") from None
    gained, lost = [], []
    for r in ranked:
        key = (r.qa.question, r.qa.answers, r.qa.documents)
        if not r.qa.answerable or key not in before:
            continue
        now = r.rank == 1 and not r.refused
        if now and not before[key]:
            gained.append(r.qa.question)
        elif before[key] and not now:
            lost.append(r.qa.question)
    return gained, lost
