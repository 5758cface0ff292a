"""What each HTTP route returns: response models, so the OpenAPI schema documents the API.

Just over 300 lines: one model per response shape, in route order; splitting them by endpoint
would scatter the shapes a client reads together.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from hybrid.answer.claims import Label
from hybrid.answer.types import Citation, Overruled


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class SourceInfo(BaseModel):
    """A numbered piece of evidence in the prompt, cited or not."""

    n: int
    document: str
    collection: str
    pages: str | None
    similarity: float | None


class Retrieval(BaseModel):
    """What the route retrieved and used, and what verification did to the answer."""

    retrieved: int
    used: int
    dropped: int  # evidence left out to fit the context budget
    dropped_turns: int  # conversation turns left out (limits.max_prompt_tokens)
    # The best chunk's cosine; a route reading sentences (evidence.sentence_bar) refuses only
    # when its best shown sentence is below min_similarity too, so an answer may come with less.
    best_similarity: float | None
    refused: bool
    # "refusal" / "choice": the model refused, or quoted [k], where sentence [1] answers;
    # "off-topic": its answer did not address the question (sentence [1] or the refusal instead);
    # "no-value": it stated no time, price or number where one was asked (the same);
    # "tie": it cited one of [1] and [2] where both state the value and score alike (both given);
    # "copy": it copied a source sentence with a slip (a figure changed): that sentence instead;
    # "unknown": it names what no document holds and the answer is not near it: refused
    overruled: Overruled | None = None
    # What the question names that no searched collection holds: why it was refused before
    # generating, or (evidence.unknown_bar) what held its answer to the bar
    unknown: list[str] = []
    removed_citations: int  # [n] outside the prompt's evidence, deleted from the text
    unsupported_sentences: int
    adapter: str | None
    sources: list[SourceInfo]
    collections: list[str] | None = None  # drafts: the collections searched


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: str


class ChatCompletion(BaseModel):
    """OpenAI's chat completion, plus ``citations`` (verified) and ``retrieval``."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[Citation]
    retrieval: Retrieval


class ModelCard(BaseModel):
    """A route, as OpenAI clients list models."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    collections: list[str]
    adapter: str | None


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


class Point(BaseModel):
    """A numbered point of a draft and its footnote marks."""

    n: int
    text: str
    label: Label | None
    footnotes: list[int]


class Footnote(BaseModel):
    n: int
    label: str  # "[^1]: contract.pdf, page 7"
    document: str
    collection: str
    page: int | None
    pages: str | None
    snippet: str
    verified: bool
    origin: Literal["model", "attributed"]


class DraftDocument(BaseModel):
    collection: str
    document: str
    pages: list[int]


class Draft(BaseModel):
    id: str
    route: str
    draft: str
    points: list[Point]
    footnotes: list[Footnote]
    named_documents: list[str]
    documents: list[DraftDocument]
    refused: bool
    finish_reason: str
    retrieval: Retrieval
    usage: Usage


class JudgedEvidence(BaseModel):
    document: str
    page: int | None
    snippet: str
    char_start: int
    char_end: int


class JudgedSentence(BaseModel):
    """A sentence of a text checked by ``POST /v1/verify`` (not an answer's: see Citation)."""

    sentence: str
    label: Label
    evidence: JudgedEvidence | None
    score: float
    reason: str


class Verification(BaseModel):
    route: str
    collections: list[str]
    sentences: list[JudgedSentence]
    summary: dict[Label, int]


class CollectionList(BaseModel):
    collections: list[str]


class DocumentInfo(BaseModel):
    document: str
    kind: str
    pages: int | None
    chunks: int
    bytes: int
    content_hash: str
    indexed_at: float
    origin: str  # folder, api, or unknown (indexed before origins were kept)


class SyncSummary(BaseModel):
    """What the sync that published the live version did (any sync: folder or upload)."""

    at: float
    added: list[str]
    updated: list[str]
    removed: list[str]
    failed: dict[str, str]  # document -> reason; the rest was indexed


class CollectionInfo(BaseModel):
    collection: str
    version: str | None
    documents: list[DocumentInfo]
    chunks: int
    last_sync: float | None
    embedder: str | None
    sync: SyncSummary | None = None  # None: built before hybrid kept the report


class Uploaded(BaseModel):
    collection: str
    document: str
    status: Literal["added", "updated", "unchanged"]
    chunks_embedded: int
    chunks_reused: int
    version: str | None
    seconds: float


class Deleted(BaseModel):
    collection: str
    document: str
    status: Literal["deleted"]
    version: str | None


class Health(BaseModel):
    status: Literal["ok", "down"]
    engine: str
    queue: int | None = None
    routes: list[str] | None = None  # only where metrics are public
    uptime_s: float | None = None


class FeedbackStored(BaseModel):
    id: int
    answer_id: str
    route: str
    rating: Literal["up", "down"]
    corrected: bool


class RouteDriftReport(BaseModel):
    """One route's drift: raw signals of the recent window, the changes the thresholds judge
    (refusals: rise over the reference; verified citations: fall), and the verdict."""

    route: str
    reference: int
    window: int
    signals: dict[str, float | None]
    changes: dict[str, float | None]
    thresholds: dict[str, float]
    drifting: list[str]
    status: Literal["ok", "drifting", "warming up"]


class MonitorReport(BaseModel):
    routes: list[RouteDriftReport]


class PreviewHit(BaseModel):
    n: int
    collection: str
    document: str
    pages: str | None
    heading: str
    text: str
    # The ranking's score: a chunk's fused (RRF) score, or on a route that shows sentences
    # (evidence.sentences) the sentence's evidence score (cosine, word overlap and its chunk's)
    score: float
    similarity: float | None
    chunk_id: str


class Preview(BaseModel):
    """What the route would put before the model for this question, and whether it refuses."""

    route: str
    refused: bool
    best_similarity: float | None
    hits: list[PreviewHit]


class SourceStaleness(BaseModel):
    collection: str
    trained_version: str | None
    current_version: str | None
    documents_changed: float | None
    chunks_changed: float | None
    stale: bool | None
    note: str


class AdapterInfo(BaseModel):
    name: str
    base_model: str
    created_at: str
    routes: list[str]  # the routes that answer with it
    staleness: list[SourceStaleness]  # empty: not RAFT-trained, nothing to compare


class AdapterList(BaseModel):
    adapters: list[AdapterInfo]


class IntentGuess(BaseModel):
    intent: str
    probability: float


class TriageDraft(BaseModel):
    id: str
    route: str
    text: str
    refused: bool
    citations: list[Citation]


class TriageReply(BaseModel):
    intent: str
    intent_probability: float
    alternatives: list[IntentGuess]
    category: str
    category_probability: float
    team: str
    summary: str
    metadata: dict[str, str]
    draft: TriageDraft | None
