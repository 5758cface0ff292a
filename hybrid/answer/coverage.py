"""Coverage: how much of a question's words a sentence holds, by meaning: refusals and quotes
are checked with it.

A refusal is a claim too ("the documents do not cover this"). The 135M answerer refuses some
questions whose first evidence sentence plainly answers them ("How much is Orbit 50 each
month?" beside "Orbit 50 costs $30 per month ..."). Coverage is the mean, over the question's
content words (no stop words, no asking words, no document names), of each one's best cosine
to a word of the sentence (MiniLM on single words: "cost" ~ "price", "monthly" ~ "month").
Exact words are too strict for paraphrase; a whole-sentence cosine is too loose (every
sentence of a document about Orbitly is near every question about Orbitly). The same model
sometimes quotes sentence [k] where [1] holds the fact; a quote is checked the same way.

An answer is checked last, whole (``on_topic``): a sentence about something else than what was
asked ("Can I keep my number?" -> "Your final bill covers charges up to your leaving date.")
is far from the question by plain sentence cosine, though near enough to the documents.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from hybrid.answer.naming import without_names
from hybrid.knowledge.search import SearchResult

_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*[a-z0-9]|[a-z0-9]")
# Beyond scikit-learn's English stop words: what asks, rather than what is asked about.
_ASKING = frozenset(
    "which what where when who whom whose how why does do is are can could would should will "
    "may might please tell explain i my me you your we our us".split()
)
# "How long ...?" asks for a span: "long" is no word the answer holds ("guaranteed for 5 years").
_HOW = re.compile(r"\bhow\s+(long|soon|often|quickly|far|old)\b(?!-)")


def content_words(text: str) -> list[str]:
    """Lower-case words of ``text`` that say what it is about, unique, in order."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    seen: dict[str, None] = {}
    for word in _WORD.findall(_HOW.sub("how", text.lower())):
        if word not in ENGLISH_STOP_WORDS and word not in _ASKING:
            seen.setdefault(word, None)
    return list(seen)


class WordVectors:
    """Embeddings of single words, computed once (a bounded cache: least recently used go).
    Not thread-safe, like the embedder it calls: the router calls it under its lock.

    Example: ``WordVectors(embedder.embed).of(["price", "cost"])`` -> (2, dim)
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], max_words: int = 50_000):
        self.embed, self.max_words = embed, max_words
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def of(self, words: Sequence[str]) -> np.ndarray:
        missing = [w for w in dict.fromkeys(words) if w not in self._cache]
        if missing:
            for word, vector in zip(missing, self.embed(missing), strict=True):
                self._cache[word] = vector
        rows = []
        for word in words:
            self._cache.move_to_end(word)
            rows.append(self._cache[word])
        while len(self._cache) > self.max_words:
            self._cache.popitem(last=False)
        return np.stack(rows)


def coverage(
    question: str, sentence: str, vectors: WordVectors, documents: Sequence[str] = ()
) -> float:
    """Mean over the question's content words (names of ``documents`` left out) of the best
    cosine to a content word of ``sentence``; 0 when either has none.

    Example: ``coverage("How much is the Orbit 50 plan each month?", "Orbit 50 costs $30 per
    month.", vectors)`` -> about 0.84; against "We are a family-run park." about 0.3.
    """
    asked = content_words(without_names(question, documents))
    said = content_words(sentence)
    if not asked or not said:
        return 0.0
    similarity = vectors.of(asked) @ vectors.of(said).T  # (asked, said), unit vectors
    return float(similarity.max(axis=1).mean())


def overrules_refusal(
    question: str,
    text: str,
    refusal: str,
    first: SearchResult,
    threshold: float,
    vectors: WordVectors,
) -> bool:
    """``text`` is the route's ``refusal`` and little else, yet evidence sentence [1]
    (``first``) covers the question at least ``threshold`` (``verify.refusal_coverage``)."""
    said = refusal.lower().rstrip(".")
    if said not in text.lower() or len(content_words(text.lower().replace(said, " "))) > 2:
        return False
    return coverage(question, first.text, vectors, [first.doc_id]) >= threshold


def better_quote(
    question: str,
    first: SearchResult,
    chosen: SearchResult,
    margin: float,
    vectors: WordVectors,
) -> bool:
    """The answer quotes ``chosen`` verbatim, and evidence sentence [1] (``first``) covers the
    question better by ``margin`` (``verify.quote_margin``): [1] is the better quote. False
    when the quote is [1] itself."""
    if chosen is first:
        return False
    names = sorted({first.doc_id, chosen.doc_id})
    ahead = coverage(question, first.text, vectors, names)
    return ahead - coverage(question, chosen.text, vectors, names) >= margin


Topic = Literal["answer", "first", "refuse"]  # what on_topic makes of an answer


def on_topic(
    asked: np.ndarray,
    answer: np.ndarray,
    first: np.ndarray,
    threshold: float,
    asks_back: bool = False,
) -> Topic:
    """Whether an answer addresses the question (``verify.min_relevance``), from unit vectors
    (dim,) of the question (``asked``), the ``answer`` and evidence sentence [1] (``first``):
    "answer" when its cosine to the question reaches ``threshold``; else "first" when [1]'s
    does, else "refuse". An answer that ``asks_back`` (the question, repeated: cosine near 1)
    answers nothing, whatever its cosine.

    Example: for "Can I freeze my gym membership while I travel?", the answer "Towels can be
    rented at the front desk for $2." (cosine 0.21) and [1] "You can freeze your membership for
    up to 3 months a year." (0.58), ``on_topic(q, a, f, 0.43)`` -> "first".
    """
    if not asks_back and float(answer @ asked) >= threshold:
        return "answer"
    return "first" if float(first @ asked) >= threshold else "refuse"
