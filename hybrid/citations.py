"""Citations ``[n]``: parse them (one regex), drop the invalid, verify each against chunk n."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hybrid.config_serve import VerifyConfig
from hybrid.knowledge.lexical import tokenize

# "[2]", "[1, 3]", "[1,2]": the only citation syntax the prompts ask for.
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SPACED_CITATION = re.compile(r"([ \t]*)" + CITATION.pattern)  # removal takes the space too
# Sentence ends: ". " / after "[n]" before a capital / a line break. "5.95", "x.md" stay whole.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|(?<=\])\s+(?=[A-Z])|\n+")
_LEADING = re.compile(r"^(?:\s*" + CITATION.pattern + r")+")
MIN_CONTENT_WORDS = 3  # fewer: nothing to check a citation against
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Sentence:
    text: str  # without its citation markers
    cited: tuple[int, ...]  # valid chunk numbers, in order


@dataclass(frozen=True)
class Parsed:
    text: str  # the answer with invalid citations removed
    sentences: tuple[Sentence, ...]
    removed: int  # citations of numbers that were not in the context


def parse(answer: str, n_chunks: int) -> Parsed:
    """Split into sentences, read their citations, remove those outside ``1..n_chunks``.

    Example: ``parse("Refunds take 14 days [1]. See [9].", 2).removed == 1``
    """
    removed = 0

    def keep_valid(match: re.Match[str]) -> str:
        nonlocal removed
        numbers = [int(n) for n in match.group(2).split(",")]
        valid = [n for n in numbers if 1 <= n <= n_chunks]
        removed += len(numbers) - len(valid)
        return match.group(1) + "[" + ", ".join(map(str, valid)) + "]" if valid else ""

    text = _SPACED_CITATION.sub(keep_valid, answer)
    sentences = []
    pending: list[int] = []  # citations that open a segment belong to the one before
    segments = [seg for seg in _BOUNDARY.split(text) if seg.strip()]
    for i, segment in enumerate(segments):
        lead = _LEADING.match(segment)
        if lead and sentences and i > 0:
            moved = _numbers_in(lead.group(0))
            last = sentences[-1]
            sentences[-1] = Sentence(last.text, tuple(dict.fromkeys(last.cited + tuple(moved))))
            segment = segment[lead.end() :]
        cited = pending + _numbers_in(segment)
        pending = []
        plain = _SPACED_CITATION.sub("", segment).strip()
        if plain:
            sentences.append(Sentence(plain, tuple(dict.fromkeys(cited))))
        else:
            pending = cited
    return Parsed(text.strip(), tuple(sentences), removed)


def _numbers_in(text: str) -> list[int]:
    return [int(n) for group in CITATION.findall(text) for n in group.split(",")]


def content_words(text: str) -> set[str]:
    """The words BM25 indexes: lower-case, stemmed, without English stop words."""
    return set(tokenize([text])[0])


def overlap(sentence: str, chunk: str) -> float:
    """Share of the sentence's content words that occur in the chunk (0 for an empty one)."""
    return _share(content_words(sentence), content_words(chunk))


def _share(words: set[str], chunk_words: set[str]) -> float:
    return len(words & chunk_words) / len(words) if words else 0.0


def numbers(text: str) -> set[str]:
    """Figures in a text ("14", "5.95", "1,000" -> "1000"): amounts, days, dates, times."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


@dataclass(frozen=True)
class Check:
    sentence: str
    n: int
    overlap: float
    similarity: float
    numbers_found: bool  # every figure of the sentence occurs in the chunk
    verified: bool
    origin: str  # "model": the model wrote [n]; "attributed": added for an uncited sentence


def verify(
    parsed: Parsed,
    chunks: Sequence[str],
    embed: Callable[[list[str]], np.ndarray],
    config: VerifyConfig,
    chunk_vectors: np.ndarray | None = None,
) -> list[Check]:
    """Check every (sentence, n) pair; attribute uncited sentences to their best chunk.

    Verified: the sentence has 3+ content words, all its figures occur in the chunk, and it overlaps
    the chunk lexically (``min_overlap``) or semantically (``min_similarity``). ``embed`` maps
    texts to L2-normalised vectors (the collection's embedder); ``chunk_vectors`` (chunks, dim),
    the chunks' stored vectors, saves embedding them again.
    """
    if not parsed.sentences or not chunks:
        return []
    sentences = [s.text for s in parsed.sentences]
    if chunk_vectors is None:
        vectors = embed(sentences + list(chunks))
        sentence_vectors, chunk_vectors = vectors[: len(sentences)], vectors[len(sentences) :]
    else:
        sentence_vectors = embed(sentences)
    similarity = sentence_vectors @ chunk_vectors.T  # (sentences, chunks)
    chunk_numbers = [numbers(chunk) for chunk in chunks]
    chunk_words = [set(words) for words in tokenize(list(chunks))]
    sentence_words = [set(words) for words in tokenize(sentences)]
    checks = []
    for i, sentence in enumerate(parsed.sentences):
        words = sentence_words[i]
        if len(words) < MIN_CONTENT_WORDS:
            continue  # "Yes [1].", a bare file name: no claim to check, none listed
        figures = numbers(sentence.text)
        scores = [
            (_share(words, chunk_words[j]), float(similarity[i, j]), figures <= chunk_numbers[j])
            for j in range(len(chunks))
        ]
        if sentence.cited:
            for n in sentence.cited:
                lexical, semantic, found = scores[n - 1]
                passed = _passes(lexical, semantic, found, config)
                checks.append(Check(sentence.text, n, lexical, semantic, found, passed, "model"))
        elif config.attribute_uncited:
            best = max(range(len(chunks)), key=lambda j: scores[j][1] + scores[j][0])
            lexical, semantic, found = scores[best]
            if _passes(lexical, semantic, found, config):
                checks.append(
                    Check(sentence.text, best + 1, lexical, semantic, found, True, "attributed")
                )
    return checks


def _passes(lexical: float, semantic: float, found: bool, config: VerifyConfig) -> bool:
    # A wrong figure ("12:00" where the chunk says "09:00") fails however similar the words.
    return found and (lexical >= config.min_overlap or semantic >= config.min_similarity)
