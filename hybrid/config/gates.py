"""Promotion gates: what an adapter must score on its route's eval before it serves the route.

Answer routes are measured by the answers grid (``PromotionGate``); the task routes ``triage``
and ``clauses`` by their own evals, on the held-out part of the split their model trained on
(``TriageGate``, ``ClausesGate``). Each gate bounds its eval's figures from below (``min``) and
above (``max``); a name its eval does not report is an error at load.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, model_validator

from hybrid.schema import Strict

# The routes that are tasks, not answer routes: `hybrid adapters promote FOLDER --route triage`.
TASK_ROUTES = ("triage", "clauses")

# The answers grid's per-arm metrics (evals/results.ArmScores).
GRID_METRICS = (
    "token_f1", "answer_recall", "fact_match", "fact_match_verified", "citation_precision",
    "citation_precision_sentence", "citation_recall", "verified_rate", "refusal_recall",
    "false_refusal", "echo_rate", "loop_rate", "latency_p50_s", "latency_p95_s",
    "answer_tokens_mean", "prompt_tokens_mean",
)  # fmt: skip
# The triage eval's figures for one classifier (evals/results.TriageArm).
TRIAGE_METRICS = (
    "intent_macro_f1", "category_macro_f1", "accuracy", "latency_p50_ms", "latency_p95_ms",
)  # fmt: skip
# The clause eval's headline figures (evals/results.ClausesResult); the pdf_* ones need pdfs.
CLAUSE_METRICS = (
    "macro_f1", "pdf_found_share", "false_pages_per_contract_type", "flags_quoted_share",
    "seconds_per_page",
)  # fmt: skip


class Bounds(Strict):
    """``min`` and ``max`` per metric, each name one of the eval's (``METRICS``)."""

    METRICS: ClassVar[tuple[str, ...]] = ()
    min: dict[str, float] = {}
    max: dict[str, float] = {}

    @model_validator(mode="after")
    def _known_metrics(self) -> Bounds:
        for bound in ("min", "max"):
            for name in getattr(self, bound):
                if name not in self.METRICS:
                    raise ValueError(f"{bound}: unknown metric {name!r} (known: {self.METRICS})")
        if not self.min and not self.max:
            raise ValueError("set at least one threshold in min or max")
        return self


class PromotionGate(Bounds):
    """What ``hybrid adapters promote NAME --route R`` requires before an adapter serves R:
    the answers grid's tuned+rag arm, through the route, on a KB-style eval set (documents +
    questions JSONL), at least ``min`` and at most ``max`` per metric.

    Example: ``PromotionGate(docs=..., questions=..., min={"fact_match": 0.6})``
    """

    METRICS: ClassVar[tuple[str, ...]] = GRID_METRICS
    docs: Path
    questions: Path
    limit: int | None = Field(None, gt=0)  # a deterministic sample of the questions
    seed: int = 0


class TriageGate(Bounds):
    """``hybrid adapters promote FOLDER --route triage``: the classifier in FOLDER on the
    held-out tickets of a Bitext-style CSV, split as ``hybrid eval triage`` split it (the share
    and seed must be the ones its card records: otherwise it would be scored on tickets it
    trained on). Latency is per ticket through the server's triage path.

    Example: ``TriageGate(data=Path("bitext.csv"), min={"intent_macro_f1": 0.95})``
    """

    METRICS: ClassVar[tuple[str, ...]] = TRIAGE_METRICS
    data: Path
    held_out: float = Field(0.15, gt=0, lt=1)
    seed: int = 0
    limit: int | None = Field(None, gt=0)  # a deterministic sample of the held-out tickets


class ClausesGate(Bounds):
    """``hybrid adapters promote FOLDER --route clauses``: the clause model in FOLDER on the
    held-out contracts of CUAD's master clauses CSV (split as ``hybrid eval clauses`` split it),
    and, with ``pdfs``, on those contract PDFs page by page.

    Example: ``ClausesGate(data=Path("cuad.csv"), min={"macro_f1": 0.8})``
    """

    METRICS: ClassVar[tuple[str, ...]] = CLAUSE_METRICS
    data: Path
    pdfs: Path | None = None  # none: the pdf_* figures are not measured (a bound on them misses)
    held_out: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
