"""What flows through a request: hits, the composition, the answer, and a caller's overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from typing_extensions import TypedDict  # pydantic reads these into the API's schema (< 3.12)

from hybrid.answer.claims import Label
from hybrid.config import GenerationSettings
from hybrid.knowledge.search import SearchResult
from hybrid.runtime.engine import Messages


@dataclass(frozen=True)
class Source:
    """Chunk number ``n`` of a prompt, with the collection it came from."""

    n: int
    collection: str
    chunk: SearchResult
    vector: np.ndarray | None = None  # stored embedding (dim,): verification reuses it
    title: str = ""  # the section title the prompt shows before the sentence (Hit.title)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk (or one of its sentences) and its vector (dim,), as the prompt uses it."""

    collection: str
    chunk: SearchResult
    vector: np.ndarray | None = None
    # A PDF or text section's title, shown before its first sentence in the prompt (the
    # answerer was trained so) and taken out of the answer's quote (``sentences.without_titles``).
    title: str = ""


@dataclass(frozen=True)
class Retrieved:
    """What a route found for a question, best first, and whether it refuses on that basis."""

    hits: tuple[Hit, ...]
    best_similarity: float | None  # best chunk's cosine
    refused: bool  # below the route's thresholds: answer with its refusal, do not generate
    named: tuple[str, ...] = ()  # documents the question named, searched instead of all
    lead: int = 0  # the first ``lead`` hits open a draft verbatim (RouteConfig.draft_quotes)
    query_vector: np.ndarray | None = None  # (dim,) the question's embedding; None: no search
    versions: dict[str, str] = field(default_factory=dict)  # collection -> version searched
    unknown: tuple[str, ...] = ()  # what the question names and no collection holds: refused


@dataclass(frozen=True)
class Composition:
    """Everything a request needs after retrieval; ``refused`` means: do not generate."""

    route: str
    messages: Messages
    sources: tuple[Source, ...]
    retrieved: int  # chunks the search returned
    dropped: int  # chunks left out (lowest rank first) to fit the context budget
    refused: bool
    best_similarity: float | None
    settings: GenerationSettings
    adapter: str | None
    prompt_tokens: int
    named: tuple[str, ...] = ()  # documents the question named (drafts search only those)
    dropped_turns: int = 0  # earlier conversation turns left out to fit the prompt budget
    lead: int = 0  # sources 1..lead open the text verbatim, as quotes (drafts)
    refusal: str = ""  # the route's refusal: the whole answer when ``refused``
    query_vector: np.ndarray | None = None  # (dim,) the question's embedding (drift monitor)
    versions: dict[str, str] = field(default_factory=dict)  # collection -> version read
    # The question, where a refusal by the model is to be checked (answers read as sentences).
    question: str = ""
    # Retrieved.unknown: why it was refused, or (evidence.unknown_bar) what its answer is held to
    unknown: tuple[str, ...] = ()


class EvidenceRef(TypedDict):
    """The source sentence a checked sentence aligned to, on its own page."""

    document: str
    page: int | None
    pages: str | None  # its chunk's page range, "3-4"
    snippet: str
    char_start: int
    char_end: int


class CheckedSentence(TypedDict):
    """One sentence of an answer that cites [n], with its verification label."""

    text: str
    label: Label
    verified: bool
    score: float
    reason: str
    evidence: EvidenceRef | None


class Citation(TypedDict):
    """Citation [n] of an answer as the API and the CLI show it (``citations.describe``)."""

    n: int
    document: str
    collection: str
    page: int | None  # the supporting sentence's page (a pinpoint cite)
    pages: str | None  # the chunk's page range
    heading: str | None
    chunk_id: str
    snippet: str
    verified: bool
    label: Label  # the worst label of the sentences that cite it
    origin: Literal["model", "attributed"]  # cited by the model, or attributed by the verifier
    sentences: list[CheckedSentence]


Overruled = Literal["refusal", "choice", "off-topic", "no-value", "tie", "copy", "unknown"]


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...]
    removed_citations: int  # [n] with n outside the context, deleted from the text
    refused: bool
    unsupported: tuple[str, ...] = ()  # claims (3+ content words) no verified citation backs
    # What the checks changed: "refusal" (the model refused, but evidence sentence [1] covers
    # the question: verify.refusal_coverage) or "choice" (it quoted [k], but [1] covers the
    # question better: verify.quote_margin); the answer is then sentence [1], quoted.
    # "off-topic": the answer did not address the question (verify.min_relevance); it is then
    # sentence [1], or the refusal when that one does not either. "no-value": the question asks
    # for a time, a price, a span or a number the answer does not state (verify.answer_kind);
    # sentence [1] when it states one, else the refusal. "tie": it cited one of sentences [1]
    # and [2] where both state the value asked and score alike (verify.tie_margin); the other
    # is quoted beside it. "copy": a sentence copied its source but for a slip (a figure or a
    # word changed) and did not verify (verify.mend_copies); the source sentence stands in
    # its place. "unknown": the question names a noun no document holds and the answer is not
    # near enough the question to stand for it (evidence.unknown_bar); refused. The first
    # check that fired names it.
    overruled: Overruled | None = None


@dataclass(frozen=True)
class Overrides:
    """What one request may change in its route's decision (``None``: the route's own).

    ``max_new_tokens`` may lower the route's, never raise it; ``adapter`` is a loaded
    adapter's name, or ``"base"`` for the plain base model.

    Example: ``router.compose("support", messages, overrides=Overrides(temperature=0.7))``
    """

    temperature: float | None = None
    top_p: float | None = None
    max_new_tokens: int | None = None
    adapter: str | None = None

    def settings(self, route: GenerationSettings) -> GenerationSettings:
        """The route's generation settings with these overrides applied."""
        updates: dict[str, float | int] = {}
        if self.temperature is not None:
            updates["temperature"] = self.temperature
        if self.top_p is not None:
            updates["top_p"] = self.top_p
        if self.max_new_tokens is not None:
            updates["max_new_tokens"] = min(self.max_new_tokens, route.max_new_tokens)
        return route.model_copy(update=updates) if updates else route

    def pick_adapter(self, route_adapter: str | None) -> str | None:
        """The adapter that generates: the override's, or the route's."""
        if self.adapter is None:
            return route_adapter
        return None if self.adapter == "base" else self.adapter
