"""Evidence sentences: the few sentences of the retrieved chunks nearest the question.

A small model answers from three whole chunks by copying the wrong one; reading four numbered
sentences, it picks the right one far more often, and the prompt is a third as long (prefill is
most of the latency). The sentences come from ``sentences.pieces``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from hybrid.answer import conditions, expected
from hybrid.answer.naming import without_names
from hybrid.answer.sentences import following, pieces
from hybrid.answer.types import Hit
from hybrid.config import EvidenceConfig
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.lexical import tokenize
from hybrid.knowledge.search import SearchResult

# Words that ask, or name a kind of document, rather than say what is sought.
_ASKING = (
    "which what where when who whom whose how why between summarise summarize explain describe "
    "list tell say state draft write give show find does do is are please agreement contract "
    "document documents clause clauses section provision provisions policy"
)
ASKING_WORDS = frozenset(tokenize([_ASKING])[0])  # stemmed as questions are


@dataclass(frozen=True)
class Scored:
    """A candidate sentence, its vector (dim,), its score against the question and its words
    (stemmed, no stopwords: what the lexical score and ``leads`` compare)."""

    sentence: SearchResult
    vector: np.ndarray
    score: float
    words: frozenset[str]
    title: str = ""  # the section title it is scored and shown with (``sentences.pieces``)


def select(
    question: str,
    question_vector: np.ndarray,
    chunks: Sequence[SearchResult],
    embed: Callable[[list[str]], np.ndarray],
    k: int,
    lexical_weight: float,
    chunk_weight: float = 0.0,
    chunk_scores: Sequence[float] | None = None,
    anaphora: bool = False,
) -> list[Scored]:
    """The ``k`` sentences of ``chunks`` that best match the question, best first.

    Score = cosine(question, sentence) + ``lexical_weight`` x share of the question's content
    words found in the sentence, each word weighted by how few candidates hold it (``_overlap``:
    "Basic" tells the Basic plan's sentence from the Business plan's, "customers" does not)
    + ``chunk_weight`` x the sentence's chunk score (e.g. its
    cosine to the question: a sentence such as "It lasts two years." is only as relevant as
    its context). Sentences repeated by overlapping chunks count once, with their best chunk.
    ``anaphora``: a sentence opening with "This" or "It" is one candidate with the one before
    it (``sentences.pieces``), scored as the better of the two together and the first alone:
    "It is
    doubled if the vehicle blocks a footpath." may say nothing that was asked.
    ``question_vector`` is (dim,) or (1, dim), L2-normalised like ``embed``'s output.
    """
    seen: dict[str, int] = {}
    candidates: list[SearchResult] = []
    titles: list[str] = []
    scored_as: list[str] = []  # the text each candidate is scored by: title and sentence
    prior: list[float] = []
    firsts: dict[int, str] = {}  # candidate -> its first sentence, where it took in the next
    for i, chunk in enumerate(chunks):
        context = chunk_scores[i] if chunk_scores is not None else 0.0
        for sentence, title, first in pieces(chunk, anaphora):
            key = " ".join(sentence.text.lower().split())
            if key in seen:
                prior[seen[key]] = max(prior[seen[key]], context)
                continue
            seen[key] = len(candidates)
            if first:
                firsts[len(candidates)] = f"{title} {first}" if title else first
            candidates.append(sentence)
            titles.append(title)
            scored_as.append(f"{title} {sentence.text}" if title else sentence.text)
            prior.append(context)
    if not candidates:
        return []
    n, alone = len(candidates), list(firsts)
    vectors = embed(scored_as + list(firsts.values()))  # (candidates + firsts, dim)
    cosine = vectors @ np.asarray(question_vector, dtype=vectors.dtype).reshape(-1)
    words = set(tokenize([question])[0])
    found = tokenize(scored_as + list(firsts.values()))
    lexical = _overlap(words, [set(w) for w in found], n)
    context = np.asarray(prior + [prior[i] for i in alone])
    every = cosine + lexical_weight * np.asarray(lexical) + chunk_weight * context
    scores = every[:n].copy()
    for j, i in enumerate(alone, start=n):  # a first sentence that scores better stands for both
        if every[j] > scores[i]:
            scores[i], vectors[i] = every[j], vectors[j]
    order = np.argsort(-scores, kind="stable")[:k]
    return [
        Scored(candidates[i], vectors[i], float(scores[i]), frozenset(found[i]), titles[i])
        for i in order
    ]


def _overlap(words: set[str], found: Sequence[set[str]], n: int) -> list[float]:
    """Per candidate, the weighted share of the question's ``words`` it holds; a word weighs
    log(1 + (n + 1) / (df + 0.5)), df the number of the first ``n`` candidates holding it.

    Example: ``_overlap({"basic", "support"}, [{"basic", "support"}, {"support"}], 2)`` ->
    ``[1.0, 0.42]``: both hold "support", only the first "basic".
    """
    if not words:
        return [0.0] * len(found)
    df = {w: sum(w in f for f in found[:n]) for w in words}
    weight = {w: math.log(1 + (n + 1) / (df[w] + 0.5)) for w in words}
    total = sum(weight.values())
    return [sum(weight[w] for w in words & f) / total for f in found]


def leads(question: str, ranked: Sequence[Scored], n: int) -> list[int]:
    """Positions in ``ranked`` (best first) of up to ``n`` sentences that answer ``question``
    well enough to quote: each holds one of its distinctive words, two if it has three or more.

    Distinctive: a content word of the question (stemmed) that is not an asking or generic
    document word ("which", "summarise", "agreement") and occurs in at most half of the
    candidates: inside one contract "agreement" is everywhere, "govern" and "law" are the
    governing-law clause. No position: the candidates do not address the question.

    Example: for "Which law governs the agreement?" the sentence "This Agreement is governed
    by the laws of Delaware." qualifies (govern, law); "The parties agree to modify the
    Agreement as follows:" does not.
    """
    if not ranked or n <= 0:
        return []
    found = [r.words for r in ranked]  # tokenised once, by select
    asked = set(tokenize([question])[0]) - ASKING_WORDS
    distinctive = {w for w in asked if sum(w in f for f in found) <= len(found) / 2}
    if not distinctive:
        return []
    # One word of a short ask ("construed in accordance with the laws of" has no "govern": 13%
    # of CUAD's governing-law clauses); two of a longer one, or any mention would do.
    need = 1 if len(distinctive) <= 2 else 2
    return [i for i, f in enumerate(found) if len(distinctive & f) >= need][:n]


def _followed(
    chosen: list[Scored], spare: list[Scored], chunks: Sequence[SearchResult], anaphora: bool
) -> list[Scored]:
    """``chosen`` with [1] read together with the sentence after it in its paragraph
    (``sentences.following``); a sentence that overlaps the two in the document leaves, and the
    best of ``spare`` takes its place. [1] keeps its score and vector: the condition is what
    matches the question, and what follows it says what was asked.
    """
    top = chosen[0]
    chunk = next(c for c in chunks if c.chunk_id == top.sentence.chunk_id)
    both = following(chunk, top.sentence, anaphora)
    if both is None:
        return chosen

    def apart(c: Scored) -> bool:
        s = c.sentence
        return (
            s.doc_id != both.doc_id
            or s.char_end <= both.char_start
            or s.char_start >= both.char_end
        )

    kept = [c for c in chosen[1:] if apart(c)]
    kept += [c for c in spare if apart(c)][: len(chosen) - 1 - len(kept)]
    return [replace(top, sentence=both), *kept]


class Sentences(NamedTuple):
    """A route's evidence as sentences (``sentence_hits``)."""

    hits: list[Hit]
    score: float | None  # the best sentence's score (``select``)
    cosine: float | None  # the best cosine of a shown sentence to the question
    lead: int  # how many hits lead (drafts' quotes)
    answered: bool  # some sentence holds the question's distinctive words (or no gate)


def sentence_hits(
    question: str,
    vector: np.ndarray | None,
    hits: list[Hit],
    ev: EvidenceConfig,
    quotes: int,
    gate: bool,
    embedder: Embedder,
) -> Sentences:
    """A route's evidence as sentences: the hits' sentences nearest the question (``select``),
    the ``quotes`` lead sentences first; the best score and cosine; how many lead; whether any
    sentence holds the question's distinctive words (always True without ``gate``). Called
    under the router's lock (the embedder's tokenizer is not thread-safe)."""
    context = [
        float(h.vector @ np.asarray(vector).reshape(-1)) if h.vector is not None else 0.0
        for h in hits
    ]
    if ev.drop_names:
        plain = without_names(question, sorted({h.chunk.doc_id for h in hits}))
        if plain != question:
            question, vector = plain, embedder.embed_query(plain)
    follows = ev.follow and expected.asks_what_follows(question)
    # A figure the asker states may pick a sentence from further down (``conditions``).
    further = 4 if ev.conditions and conditions.stated(question) else 0
    ranked = select(
        question,
        vector,
        [h.chunk for h in hits],
        embedder.embed,
        # Leads are judged against every candidate (a word's spread across them); a join
        # (``follows``) may free a place for the next best.
        10_000 if gate else ev.sentences + 2 * follows + further,
        ev.lexical_weight,
        ev.chunk_weight,
        context,
        ev.anaphora,
    )
    found = leads(question, ranked, max(quotes, 1)) if gate else []
    first = found[:quotes]
    rest = [c for i, c in enumerate(ranked) if i not in first]
    chosen = [ranked[i] for i in first] + rest[: max(0, ev.sentences - len(first))]
    if ev.kind_first and not first:  # "How much ...?": a sentence with a price goes first
        chosen = expected.kind_first(question, chosen, lambda c: c.sentence.text)
    if further and not first and chosen:  # "10 days away": not "less than 7 days before"
        spare = [c for c in ranked if all(c is not x for x in chosen)]
        chosen = conditions.met_first(
            question, chosen + spare, lambda c: c.sentence.text, len(chosen)
        )
    if follows and not first and chosen:
        spare = [c for c in ranked if all(c is not x for x in chosen)]
        chosen = _followed(chosen, spare, [h.chunk for h in hits], ev.anaphora)
    where = {h.chunk.chunk_id: h.collection for h in hits}
    # A sentence's score is its evidence score (``select``), no longer its chunk's RRF score.
    sentences = [
        Hit(where[c.sentence.chunk_id], replace(c.sentence, score=c.score), c.vector, c.title)
        for c in chosen
    ]
    answered = bool(found) or not gate
    asked = np.asarray(vector).reshape(-1)
    cosine = max((float(c.vector @ asked) for c in chosen), default=None)
    return Sentences(sentences, ranked[0].score if ranked else None, cosine, len(first), answered)
