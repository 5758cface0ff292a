"""What each eval writes to ``evals/results/*.json``: typed, so readers use fields, not ``.get``.

Example: ``GridResult.model_validate_json(Path("evals/results/answers-kb-heldout.json")
.read_text()).arms["tuned+rag"].fact_match``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from hybrid.schema import describe


class ArmScores(BaseModel):
    """One arm of the answers grid (0-1; None where nothing was there to measure)."""

    token_f1: float | None
    answer_recall: float | None
    fact_match: float | None
    fact_match_verified: float | None
    citation_precision: float | None
    citation_precision_sentence: float | None = None  # absent from grids run before it existed
    citation_recall: float | None
    verified_rate: float | None
    refusal_recall: float | None
    false_refusal: float | None
    echo_rate: float | None
    loop_rate: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    answer_tokens_mean: float | None
    prompt_tokens_mean: float | None


class GridSettings(BaseModel):
    set: str
    route: str
    route_settings: dict[str, Any]  # the route as asked, without collections and adapter
    base_model: str
    adapter: str | None
    engine: str
    concurrency: int
    embedder: str
    search: dict[str, Any]
    limit: int | None = None
    seed: int | None = None
    held_out_documents: list[str] | None = None  # SQuAD sets: the adapter's held-out policies


class GridResult(BaseModel):
    """``hybrid eval answers``."""

    arms: dict[str, ArmScores]
    n: int
    answerable: int
    unanswerable: int
    config: GridSettings


class EvidenceResult(BaseModel):
    """``hybrid eval evidence``: shares of answerable (``first``, ``shown``, ``mrr``,
    ``refused_answerable``) and unanswerable questions (``refused_unanswerable``), 0-1."""

    first: float | None  # [1] holds a gold answer
    shown: float | None  # one of the numbered sentences does
    mrr: float | None
    refused_answerable: float | None  # refused before generating: a lost answer
    refused_unanswerable: float | None  # refused before generating: a right refusal
    n: int
    answerable: int
    unanswerable: int
    config: dict[str, Any]  # set, route, its evidence settings, embedder, search


class RetrievalResult(BaseModel):
    """``hybrid eval retrieval``: metrics in percent, by ``scope/mode``."""

    dataset: str
    questions: int
    skipped: int
    granularity: str
    documents: int
    chunks: int
    default_mode: str
    embedder: str
    embedder_dtype: str
    chunking: dict[str, Any]
    search: dict[str, Any]
    index_seconds: float
    chunks_embedded: int
    metrics: dict[str, dict[str, float]]


class TypeScores(BaseModel):
    precision: float
    recall: float
    f2: float
    gold: int
    predicted: int
    strict_precision: float | None = None  # overall only: neutral predictions count as wrong


class RedactionResult(BaseModel):
    """``hybrid eval redaction``: span-overlap scores per PII type."""

    dataset: str
    sentences: int
    seconds: float
    overall: TypeScores
    any_type_recall: float
    any_type_recall_all: float
    neutral_predictions: int
    out_of_scope: list[str]
    per_type: dict[str, TypeScores]


class DraftCase(BaseModel):
    document: str
    instruction: str
    law: str
    clause: str
    clause_page: int | None
    named: bool
    footnote_on_page: bool
    wrong_laws: list[str]
    refused: bool
    draft: str


class DraftsResult(BaseModel):
    """``hybrid eval drafts``: governing-law drafts, counted."""

    n: int
    with_law: int
    named_with_footnote: int
    named: int
    wrong_law: int
    refused_without_law: int
    cases: list[DraftCase]


class TriageArm(BaseModel):
    """One arm of ``hybrid eval triage`` on the held-out tickets."""

    arm: str
    n: int
    intent_macro_f1: float
    category_macro_f1: float
    accuracy: float
    latency_p50_ms: float  # one ticket at a time, on the machine that ran the eval
    latency_p95_ms: float


class TriageResult(BaseModel):
    """``hybrid eval triage``: the arms side by side on one split."""

    dataset: str
    train: int
    held_out: int
    intents: int
    categories: int
    seed: int
    arms: list[TriageArm]
    lora_training: dict[str, Any] | None = None  # steps, losses, wall time


class ClauseTypeScores(BaseModel):
    """One clause type: (a) on held-out contracts' texts, (b) on the PDFs' pages."""

    type: str
    support: int  # held-out texts of this type
    precision: float
    recall: float
    f1: float
    baseline_f1: float | None = None  # the embedding-only head, same split (None: not run)
    threshold: float
    pdf_clauses: int  # labelled clauses of this type found in the PDFs' text
    pdf_found: int  # ... with a flag of this type on their page
    false_pages_per_contract: float  # pages flagged for this type that hold none of it


class ClausesResult(BaseModel):
    """``hybrid eval clauses``: (a) texts of held-out contracts, (b) the shared PDFs, page by
    page (their contracts are in neither training nor (a))."""

    dataset: str
    train_texts: int
    train_contracts: int
    validation_texts: int
    held_out_texts: int
    held_out_contracts: int
    pdfs: int
    seed: int
    macro_f1: float
    baseline_macro_f1: float | None  # None: the baseline was not run (a promotion gate)
    pdf_found_share: float  # labelled clauses with a flag of their type on their page
    false_pages_per_contract_type: float  # averaged over contracts and types
    flags_quoted_share: float  # flags whose quote the verifier labels "quoted"
    seconds_per_page: float  # flagging, this machine
    types: list[ClauseTypeScores]


Result = (
    GridResult
    | EvidenceResult
    | RetrievalResult
    | RedactionResult
    | DraftsResult
    | TriageResult
    | ClausesResult
)


def write(result: Result, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def read(kind: type[Result], path: Path) -> Result:
    """A result file as ``kind``; ValueError naming the file and the first bad field."""
    try:
        return kind.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except ValidationError as error:
        raise ValueError(describe(error, str(path))) from None
