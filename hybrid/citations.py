"""Citations ``[n]``: parse them (one regex), drop the invalid, check each claim against chunk n."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hybrid import claims, evidence
from hybrid.config_serve import VerifyConfig
from hybrid.knowledge.search import SearchResult

# "[2]", "[1, 3]", "[1,2]": the only citation syntax the prompts ask for.
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SPACED_CITATION = re.compile(r"([ \t]*)" + CITATION.pattern)  # removal takes the space too
# Sentence ends: ". " / after "[n]" before a capital / a line break. "5.95", "x.md" stay whole.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|(?<=\])\s+(?=[A-Z])|\n+")
_LEADING = re.compile(r"^(?:\s*" + CITATION.pattern + r")+")


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


def without_repeats(parsed: Parsed) -> Parsed:
    """The answer without sentences it already said (a loop the engine cut after two copies).

    Example: ``without_repeats(parse("Fees are due. Fees are due.", 0)).text == "Fees are due."``
    """
    seen: set[str] = set()
    kept = []
    for sentence in parsed.sentences:
        key = " ".join(sentence.text.lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(sentence)
    if len(kept) == len(parsed.sentences):
        return parsed
    text = " ".join(s.text + "".join(f" [{n}]" for n in s.cited) for s in kept)
    return Parsed(text, tuple(kept), parsed.removed)


def _numbers_in(text: str) -> list[int]:
    return [int(n) for group in CITATION.findall(text) for n in group.split(",")]


@dataclass(frozen=True)
class Check:
    """One answer sentence checked against chunk ``n``: its label and the source sentence."""

    sentence: str
    n: int
    label: claims.Label
    evidence: SearchResult | None  # the aligned source sentence (document, pages, offsets)
    score: float
    reason: str
    origin: str  # "model": the model wrote [n]; "attributed": cited for it; "uncited": neither
    aligned: int = 0  # the source number of ``evidence`` (differs from n = 0 when uncited)

    @property
    def verified(self) -> bool:
        return self.label in claims.VERIFIED


def sentences_of(sources: Sequence[SearchResult]) -> list[tuple[int, SearchResult]]:
    """(source number, sentence) for every sentence of the sources; a source too short to
    split (a heading, "Yes.") is its own sentence."""
    out = []
    for n, source in enumerate(sources, start=1):
        for sentence in evidence.split(source) or [source]:
            out.append((n, sentence))
    return out


def verify(
    parsed: Parsed,
    sources: Sequence[SearchResult],
    embed: Callable[[list[str]], np.ndarray],
    config: VerifyConfig,
    nli: claims.NLI | None = None,
) -> list[Check]:
    """Label every (sentence, n) pair; attribute uncited sentences to their best source.

    Each sentence is aligned to its best sentence inside chunk n (``claims.judge``: quoted,
    supported, contradicted or unsupported, with the source sentence as evidence); the other
    chunks' sentences are the context a swapped word may come from. An uncited sentence is
    aligned over all chunks and, when verified and ``attribute_uncited``, cited where it
    aligned; otherwise it is listed with n = 0.
    Example: ``verify(parse("Refunds take 9 days [1].", 1), [hit], embed, VerifyConfig())``
    gives one ``Check`` labelled ``contradicted`` when ``hit`` says 5 days.
    """
    if not parsed.sentences or not sources:
        return []
    pool = sentences_of(sources)
    texts = [s.text for s in parsed.sentences]
    vectors = embed(texts + [sentence.text for _, sentence in pool])  # (answer + pool, dim)
    claim_vectors, pool_vectors = vectors[: len(texts)], vectors[len(texts) :]
    numbers_of = np.array([n for n, _ in pool])
    sentences = [sentence for _, sentence in pool]
    checks = []
    for i, sentence in enumerate(parsed.sentences):
        cited = sentence.cited or (0,)
        for n in cited:
            # Align inside chunk n (all chunks for an uncited sentence); the rest is context.
            inside = np.flatnonzero(numbers_of == n) if n else np.arange(len(pool))
            order = [*inside, *(j for j in range(len(pool)) if j not in set(inside))]
            judged = claims.judge(
                sentence.text,
                claim_vectors[i],
                [sentences[j] for j in order],
                pool_vectors[order],
                config,
                nli=nli,
                align_within=len(inside),
            )
            aligned = int(numbers_of[order[judged.index]]) if judged.evidence is not None else 0
            source_n, origin = n, "model"
            if not n:
                attribute = judged.verified and config.attribute_uncited
                source_n = aligned if attribute else 0
                origin = "attributed" if source_n else "uncited"
            label, where, reason = judged.label, judged.evidence, judged.reason
            checks.append(
                Check(sentence.text, source_n, label, where, judged.score, reason, origin, aligned)
            )
    return checks
