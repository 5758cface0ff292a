"""Citations ``[n]``: parse them (one regex), drop the invalid, check each claim against chunk n.

Just over 300 lines: a citation's life in order (parse, verify, rewrite, describe).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from hybrid.answer import claims
from hybrid.answer.sentences import split
from hybrid.answer.types import Citation, EvidenceRef
from hybrid.config import VerifyConfig
from hybrid.knowledge.search import SearchResult

# "[2]", "[1, 3]", "[1,2]": the only citation syntax the prompts ask for.
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SPACED_CITATION = re.compile(r"([ \t]*)" + CITATION.pattern)  # removal takes the space too
# Sentence ends: ". " / '." ' / after "[n]" before a capital or a quote / after a quote and its
# '"..." [n]' (a quoted source sentence may end without a full stop) / a line break.
# "5.95", "x.md" stay whole.
_BOUNDARY = re.compile(
    r"(?<=[.!?])\s+|(?<=[.!?][\"\u201d])\s+|(?<=\])\s+(?=[A-Z\"\u201c])"
    r"|(?<=\" \[\d\])\s+|(?<=\" \[\d\d\])\s+|\n+"
)
_QUOTES = "\"'\u201c\u201d"
_LEADING = re.compile(r"^(?:\s*" + CITATION.pattern + r")+")
_MIN_COPY_WORDS = 5  # a copy this long names its source (recite)


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


def without_source_labels(answer: str, documents: Sequence[str]) -> str:
    """``answer`` without the "(doc_id)" / "(doc_id, page 3)" labels the evidence prompt puts
    after each sentence: the model sometimes copies one instead of citing ``[n]``; the sentence
    is then attributed like any uncited one (``verify.attribute_uncited``).

    Example: ``without_source_labels("Check-in is at 3 pm (park.txt).", ["park.txt"])`` ->
    ``"Check-in is at 3 pm."``
    """
    names = sorted(set(documents), key=len, reverse=True)  # longest first: "a.md" after "ba.md"
    if not names:
        return answer
    label = r"[ \t]*\((?:" + "|".join(map(re.escape, names)) + r")(?:, pages? [^()\n]*)?\)"
    # A label where a sentence had no end of its own ("5 kilograms (laundry.txt) Shirts ...")
    # ended it: it leaves a full stop, or the sentence would run into the next one.
    answer = re.sub(r"(?<=[^\s.!?\"\u201d])" + label + r"(?![.!?]|[ \t]*\[\d)", ".", answer)
    return re.sub(label, "", answer)


def without_repeats(parsed: Parsed) -> Parsed:
    """The answer without sentences it already said (a loop the engine cut after two copies).

    Example: ``without_repeats(parse("Fees are due. Fees are due.", 0)).text == "Fees are due."``
    """
    seen: list[str] = []

    def first(sentence: Sentence) -> bool:
        # Quoted or not, cut short by the token limit, or a long one with a few words garbled
        # (the n-gram guard bends a verbatim copy), a copy is a copy.
        key = _key(sentence.text)
        words = set(key.split())
        new = not any(
            said.startswith(key)
            or (len(words) >= 12 and len(words & set(said.split())) >= 0.8 * len(words))
            for said in seen
        )
        seen.append(key)
        return new

    return keep(parsed, first)


def keep(parsed: Parsed, wanted: Callable[[Sentence], bool]) -> Parsed:
    """The answer with only the sentences ``wanted`` accepts (called once each, in order).

    Example: ``keep(parse("A is 1. B is 2.", 0), lambda s: "B" in s.text).text == "B is 2."``
    """
    kept = [s for s in parsed.sentences if wanted(s)]
    if len(kept) == len(parsed.sentences):
        return parsed
    return Parsed(" ".join(render(s) for s in kept), tuple(kept), parsed.removed)


def recite(parsed: Parsed, sources: Sequence[SearchResult]) -> Parsed:
    """The answer with each cited sentence that copies a source it does not cite, word for
    word, cited to that source. The answerer sometimes quotes sentence [4] and writes [3];
    aligned inside [3] only, a true sentence of the documents reads as contradicted. A copy of
    a few words ("Yes.", "Fees apply.") proves nothing and keeps its citation.

    Example: ``recite(parse("Delivery costs 5.95 EUR per order. [1]", 2), hits).text`` is
    ``"Delivery costs 5.95 EUR per order. [2]"`` when only ``hits[1]`` holds that sentence.
    """
    keys = [_key(source.text) for source in sources]
    out, changed = [], False
    for sentence in parsed.sentences:
        key = _key(sentence.text)
        holders = [n for n, text in enumerate(keys, start=1) if key in text]
        if (
            sentence.cited
            and len(key.split()) >= _MIN_COPY_WORDS
            and holders
            and not set(sentence.cited) & set(holders)
        ):
            sentence, changed = Sentence(sentence.text, (holders[0],)), True
        out.append(sentence)
    if not changed:
        return parsed
    return Parsed(" ".join(render(s) for s in out), tuple(out), parsed.removed)


# A clause the answerer stopped at ("... arrives the same day; [1]") or a list item it quoted
# ("take out Kelvarro Cover, which costs ...; or [1]"): it ends in ";", "," or ":" (and "or" or
# "and"), or it opens in lower case. Words with a capital inside ("iPhone", "eBay") are left
# as written.
_CLAUSE_END = re.compile(
    r"\s*[;,:](?:\s+(?:and|or))?(?:\.?(?=\s*(?:" + CITATION.pattern + r"|$))|\.(?=\s))"
)
_LOWER_START = re.compile(r"(^|\n|[.!?](?:\s*" + CITATION.pattern + r")+\s+)([a-z])(?=[a-z'-]*\b)")


def tidy(answer: str) -> str:
    """An answer's sentences as sentences: a clause cut before its citation ends with a full
    stop, and a sentence that opens in lower case opens with a capital. Verification reads
    the words, so it runs before; this changes punctuation and one letter only.

    Example: ``tidy("transfers sent before 14:00 arrive the same day; [1]")`` -> ``"Transfers
    sent before 14:00 arrive the same day. [1]"``
    """
    answer = _CLAUSE_END.sub(".", answer)
    return _LOWER_START.sub(lambda m: m.group(1) + m.group(3).upper(), answer)


def _key(text: str) -> str:
    """A sentence as repeats compare it: case, quotes, final stop and spacing ignored."""
    return " ".join(text.lower().strip(_QUOTES + " .").split())


def render(sentence: Sentence) -> str:
    """A sentence with its citations: ``"Refunds take 5 days. [1]"``."""
    return sentence.text + "".join(f" [{n}]" for n in sentence.cited)


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
        for sentence in split(source) or [source]:
            out.append((n, sentence))
    return out


def verify(
    parsed: Parsed,
    sources: Sequence[SearchResult],
    embed: Callable[[list[str]], np.ndarray],
    config: VerifyConfig,
    nli: claims.NLI | None = None,
    source_vectors: Sequence[np.ndarray | None] = (),
) -> list[Check]:
    """Label every (sentence, n) pair; attribute uncited sentences to their best source.

    Each sentence is aligned to its best sentence inside chunk n (``claims.judge``: quoted,
    supported, contradicted or unsupported, with the source sentence as evidence); the other
    chunks' sentences are the context a swapped word may come from. A sentence unsupported by
    chunk n is judged again over all chunks and labelled contradicted when one contradicts it
    (a copy of another chunk with a word swapped, cited to the wrong one). An uncited sentence is
    aligned over all chunks and, when verified and ``attribute_uncited``, cited where it
    aligned; otherwise it is listed with n = 0. ``source_vectors`` (the sources' stored
    embeddings, (dim,) each) are reused where a source is a single sentence (evidence
    sentences): only the answer and the sentences of whole chunks are embedded again.
    Example: ``verify(parse("Refunds take 9 days [1].", 1), [hit], embed, VerifyConfig())``
    gives one ``Check`` labelled ``contradicted`` when ``hit`` says 5 days.
    """
    if not parsed.sentences or not sources:
        return []
    pool = sentences_of(sources)
    claim_vectors, pool_vectors = _vectors(parsed, pool, sources, embed, source_vectors)
    numbers_of = np.array([n for n, _ in pool])
    sentences = [sentence for _, sentence in pool]
    checks = []
    for i, sentence in enumerate(parsed.sentences):
        cited = sentence.cited or (0,)
        for n in cited:
            # Align inside chunk n (all chunks for an uncited sentence); the rest is context.
            inside = np.flatnonzero(numbers_of == n) if n else np.arange(len(pool))
            outside = np.setdiff1d(np.arange(len(pool)), inside)
            order = [*inside, *outside]
            judged = claims.judge(
                sentence.text,
                claim_vectors[i],
                [sentences[j] for j in order],
                pool_vectors[order],
                config,
                nli=nli,
                align_within=len(inside),
            )
            if n and judged.label == "unsupported" and len(inside) < len(pool):
                # Cited to the wrong chunk, a sentence may still contradict another one: a
                # copy of [3] with one word swapped, cited [2], states something false.
                anywhere = claims.judge(
                    sentence.text, claim_vectors[i], sentences, pool_vectors, config, nli=nli
                )
                if anywhere.label == "contradicted":
                    order = list(range(len(pool)))
                    where = int(numbers_of[anywhere.index])
                    judged = replace(anywhere, reason=f"{anywhere.reason} (in [{where}])")
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


def _vectors(
    parsed: Parsed,
    pool: list[tuple[int, SearchResult]],
    sources: Sequence[SearchResult],
    embed: Callable[[list[str]], np.ndarray],
    source_vectors: Sequence[np.ndarray | None],
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the answer's sentences (sentences, dim) and of the pool (pool, dim),
    reusing a source's stored vector where the source is that one sentence."""
    texts = [s.text for s in parsed.sentences]
    stored = {
        j: source_vectors[n - 1]
        for j, (n, sentence) in enumerate(pool)
        if n <= len(source_vectors)
        and source_vectors[n - 1] is not None
        and sentence.text == sources[n - 1].text
    }
    fresh = [j for j in range(len(pool)) if j not in stored]
    vectors = embed(texts + [pool[j][1].text for j in fresh])  # (answer + fresh, dim)
    pool_vectors = np.empty((len(pool), vectors.shape[1]), dtype=vectors.dtype)
    for j, vector in stored.items():
        pool_vectors[j] = vector
    pool_vectors[fresh] = vectors[len(texts) :]
    return vectors[: len(texts)], pool_vectors


def rewrite(
    parsed: Parsed,
    checks: list[Check],
    failing: list[Sentence],
    mode: str,
    min_score: float,
) -> tuple[str, list[Check]]:
    """The answer with each ``failing`` sentence dropped (``mode`` "drop") or replaced by the
    source sentence it aligned to, verbatim and quoted (then labelled ``quoted``), when that
    scores at least ``min_score`` ("quote"); the checks that stay."""
    out: list[str] = []
    kept: list[Check] = []
    said = {_key(s.text) for s in parsed.sentences if s not in failing}
    for sentence in parsed.sentences:
        mine = [c for c in checks if c.sentence == sentence.text]
        if sentence not in failing:
            out.append(render(sentence))
            kept += mine
            continue
        quotable = [
            c for c in mine if c.evidence is not None and c.aligned and c.score >= min_score
        ]
        if mode == "quote" and quotable:
            best = quotable[0]
            quote = f'"{best.evidence.text}"'  # type: ignore[union-attr]
            if _key(quote) in said:  # already said (a draft's lead, another sentence's source)
                continue
            said.add(_key(quote))
            out.append(f"{quote} [{best.aligned}]")
            kept.append(
                replace(best, sentence=quote, n=best.aligned, label="quoted", reason="quoted")
            )
    return " ".join(out), kept


def describe(chunk: SearchResult, collection: str, n: int, checks: list[Check]) -> Citation:
    """Citation ``n`` as the API shows it: its chunk, its worst label, each checked sentence
    with the source sentence it aligned to."""
    worst = max((c.label for c in checks), key=claims.SEVERITY.index)
    # The page of the supporting sentence (a lawyer's pinpoint cite); "pages": the chunk's.
    own = next((c.evidence for c in checks if c.evidence is not None and c.aligned == n), None)
    return {
        "n": n,
        "document": chunk.doc_id,
        "collection": collection,
        "page": own.page_start if own is not None else chunk.page_start,
        "pages": chunk.pages or None,
        "heading": chunk.heading or None,
        "chunk_id": chunk.chunk_id,
        "snippet": chunk.text,
        "verified": all(c.verified for c in checks),
        "label": worst,
        "origin": "model" if any(c.origin == "model" for c in checks) else "attributed",
        "sentences": [
            {
                "text": c.sentence,
                "label": c.label,
                "verified": c.verified,
                "score": c.score,
                "reason": c.reason,
                "evidence": _evidence(c.evidence),
            }
            for c in checks
        ],
    }


def _evidence(sentence: SearchResult | None) -> EvidenceRef | None:
    if sentence is None:
        return None
    return {
        "document": sentence.doc_id,
        "page": sentence.page_start,
        "pages": sentence.pages or None,
        "snippet": sentence.text,
        "char_start": sentence.char_start,
        "char_end": sentence.char_end,
    }
