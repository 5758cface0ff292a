"""Risky-clause flags: every sentence of a contract scored by the clause model; the ones over a
type's threshold become flags with their page, character offsets, confidence, risk and a
verbatim quote that the verifier labels against its page.

Sentences, not chunks: a CUAD clause is one to three sentences, and a flag should point at the
words that make it one. Neighbouring sentences of one type on one page are one flag; a type
keeps its most confident flags, as many as 9 in 10 training contracts hold clauses of it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from hybrid.answer import claims
from hybrid.answer.sentences import split
from hybrid.config import ClausesConfig, VerifyConfig
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.loaders import LoadedDocument
from hybrid.knowledge.search import SearchResult
from hybrid.models.clauses import ClauseModel


@dataclass(frozen=True)
class Flag:
    type: str
    risk: str
    confidence: float  # the clause model's probability, the highest of the flag's sentences
    page: int | None  # 1-based; None for documents without pages
    char_start: int  # offsets into the document's extracted text
    char_end: int
    quote: str  # the document's text between the offsets, verbatim
    label: str  # the verifier's label for the quote against its page ("quoted")


@dataclass(frozen=True)
class ClauseReport:
    document: str
    pages: int | None
    passages: int  # sentences scored
    types: tuple[str, ...]  # the types looked for, in config order
    flags: tuple[Flag, ...]  # document order

    def found(self, clause_type: str) -> list[Flag]:
        return [f for f in self.flags if f.type == clause_type]


def pages_of(doc: LoadedDocument) -> list[SearchResult]:
    """Each page as a span of the document (the whole text when it has no pages)."""
    starts = [*doc.page_starts, len(doc.text)] if doc.page_starts else [0, len(doc.text)]
    numbered = bool(doc.page_starts)
    out = []
    for i in range(len(starts) - 1):
        a, b = starts[i], starts[i + 1]
        page = i + 1 if numbered else None
        out.append(SearchResult(0, 0.0, "", doc.doc_id, doc.text[a:b], page, page, "", a, b))
    return out


def passages(doc: LoadedDocument) -> list[SearchResult]:
    """The document's sentences, page by page, with document offsets (headings and page
    furniture of fewer than four words left out, as evidence leaves them)."""
    return [s for page in pages_of(doc) for s in split(page)]


class ClauseFlagger:
    """Example: ``ClauseFlagger.load(config.clauses, embedder).flag(doc).found("Governing Law")``"""

    def __init__(self, config: ClausesConfig, model: ClauseModel, embedder: Embedder):
        if model.embedder != embedder.name:
            raise ValueError(
                f"clauses.model: trained with the embedder {model.embedder!r}, "
                f"but the recipe's is {embedder.name!r}"
            )
        unknown = [t for t in config.types if t not in model.types]
        if unknown:
            raise ValueError(
                f"clauses.types: {unknown[0]!r} is not a type the clause model at "
                f"{config.model} was trained on (it knows: {model.types})"
            )
        self.config, self.model, self.embedder = config, model, embedder
        self._lock = threading.Lock()
        self.columns = [model.types.index(t) for t in config.types]
        chosen = list(zip(config.types.values(), self.columns, strict=True))
        self.thresholds = np.array(
            [t.threshold if t.threshold is not None else model.thresholds[j] for t, j in chosen],
            dtype=np.float32,
        )
        self.max_flags = [t.max_flags or model.max_flags[j] for t, j in chosen]

    @classmethod
    def load(cls, config: ClausesConfig, embedder: Embedder) -> ClauseFlagger:
        return cls(config, ClauseModel.load(config.model), embedder)

    def flag(self, doc: LoadedDocument) -> ClauseReport:
        """Thread-safe: one contract at a time uses the embedder (its tokenizer is not)."""
        with self._lock:
            return self._flag_all(doc)

    def _flag_all(self, doc: LoadedDocument) -> ClauseReport:
        sentences = passages(doc)
        texts = [s.text for s in sentences]
        vectors = self.embedder.embed(texts)
        probs = self.model.probabilities(texts, vectors)[:, self.columns]  # (n, types)
        found: list[tuple[str, float, list[int]]] = []  # type, confidence, sentence indices
        for k, name in enumerate(self.config.types):
            runs: list[list[int]] = []  # neighbouring sentences over the threshold, one page
            for i in np.flatnonzero(probs[:, k] >= self.thresholds[k]):
                last = runs[-1][-1] if runs else None
                same_page = (
                    last is not None and sentences[last].page_start == sentences[i].page_start
                )
                if last == i - 1 and same_page:
                    runs[-1].append(int(i))
                else:
                    runs.append([int(i)])
            ranked = sorted(runs, key=lambda run: -float(probs[run, k].max()))
            found += [
                (name, float(probs[run, k].max()), run) for run in ranked[: self.max_flags[k]]
            ]
        flags = [self._flag(doc, sentences, vectors, *f) for f in found]
        flags.sort(key=lambda f: (f.char_start, f.type))
        return ClauseReport(
            doc.doc_id, doc.n_pages, len(sentences), tuple(self.config.types), tuple(flags)
        )

    def _flag(
        self,
        doc: LoadedDocument,
        sentences: list[SearchResult],
        vectors: np.ndarray,
        name: str,
        confidence: float,
        run: list[int],
    ) -> Flag:
        """The flag over sentences ``run``: its quote is the document's text from the first
        to the last, and each sentence goes through the claim verifier against its page's
        sentences (the flag keeps the worst label: one altered sentence is not a quote)."""
        first, last = sentences[run[0]], sentences[run[-1]]
        page = [i for i, s in enumerate(sentences) if s.page_start == first.page_start]
        labels = [
            claims.judge(
                sentences[i].text, vectors[i], [sentences[j] for j in page], vectors[page],
                VerifyConfig(),
            ).label
            for i in run
        ]  # fmt: skip
        return Flag(
            type=name,
            risk=self.config.types[name].risk,
            confidence=round(confidence, 4),
            page=first.page_start,
            char_start=first.char_start,
            char_end=last.char_end,
            quote=doc.text[first.char_start : last.char_end],
            label=max(labels, key=claims.SEVERITY.index),
        )
