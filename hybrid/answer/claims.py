"""Claim-level verification: align a claim to its best source sentence, then label it.

Bag-of-words overlap with a whole chunk verifies "Sale items are refunded at the original
price." against "...at the price you actually paid, not at the original price." Here each
claim is aligned to one source sentence and checked against that sentence only:

- ``contradicted``: a figure (number, number word, amount, percentage, duration, date, month,
  weekday) the aligned sentence states otherwise; a negation flip in the aligned clause ("can"
  vs "cannot"); a word the claim takes from another source sentence instead of the aligned one
  ("Faroe" where the aligned sentence says "EU", "opened" where it says "sealed").
- ``quoted``: the claim is (nearly) verbatim text of the sentence.
- ``supported``: enough of the claim's content words are in the sentence, or it says the same
  thing in other words (embedding cosine), and nothing above fired.
- ``unsupported``: otherwise.

An optional NLI model (``VerifyConfig.nli_model``) replaces the last three decisions on the
aligned pair; the figure and negation rules still apply first.

Over 300 lines: the labelling rules are one decision list (``judge``) and the checks it
runs in order; split, the order that decides a label would be spread over files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hybrid.answer.figures import NAMED, NUMBER_WORDS, claim_figures, figures
from hybrid.config import VerifyConfig
from hybrid.knowledge.lexical import tokenize
from hybrid.knowledge.search import SearchResult

Label = Literal["quoted", "supported", "contradicted", "unsupported"]
VERIFIED: tuple[Label, ...] = ("quoted", "supported")
SEVERITY: tuple[Label, ...] = ("quoted", "supported", "unsupported", "contradicted")  # worst last

_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|none|neither|nor|without|nobody|non|\w+n't)\b", re.I
)
_ONLY_IF = re.compile(
    r"\bonly\b([^,;.]*?)\b(?:if|when)\b", re.I
)  # "only X if Y" = "not X unless Y"
# Words that do not carry a claim's subject or qualifier: a paraphrase swaps them freely.
_GENERIC = frozenset(
    tokenize(
        [
            "from within to in on at by for of with into onto per up also just can may must will "
            "shall could would should might every each all any get got give given take taken "
            "make made use used have has had do does done need needs cost costs charge charged "
            "which who whom whose that where"
        ]
    )[0]
)
_CLAUSE = re.compile(
    r"[,;:()]|\b(?:but|while|whereas|except|unless|although|however|if|even|when)\b", re.I
)
_WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?|\d+(?:[.,:]\d+)*")
_PUNCT = re.compile(r"[^\w\s%$]")


@dataclass(frozen=True)
class Judgement:
    """A claim's label, the source sentence it was aligned to (None: no source at all), the
    alignment score (cosine + word coverage), and why (for people reading the label)."""

    claim: str
    label: Label
    evidence: SearchResult | None
    score: float
    reason: str
    index: int = -1  # the evidence's position in the sources judged against

    @property
    def verified(self) -> bool:
        return self.label in VERIFIED


class NLI:
    """A Hugging Face sequence-classification model with entailment / contradiction labels.

    Example: ``NLI("cross-encoder/nli-deberta-v3-small").label("Refunds take 5 days.",
    "Refunds take five days.")`` is ``"entailment"``.
    """

    def __init__(self, name: str) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(name)
        self.model = AutoModelForSequenceClassification.from_pretrained(name).eval()
        names = {i: str(n).lower() for i, n in self.model.config.id2label.items()}
        self.labels: dict[int, str] = {}
        for i, n in names.items():
            kind = "entailment" if "entail" in n else "contradiction" if "contra" in n else ""
            self.labels[i] = kind or "neutral"
        if not {"entailment", "contradiction"} <= set(self.labels.values()):
            raise ValueError(
                f"verify.nli_model: {name!r} has labels {sorted(names.values())}; it needs an "
                "entailment and a contradiction label"
            )

    def label(self, premise: str, hypothesis: str) -> str:
        batch = self.tokenizer(premise, hypothesis, return_tensors="pt", truncation=True)
        with self._torch.inference_mode():
            logits = self.model(**batch).logits[0]
        return self.labels[int(logits.argmax())]


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text.replace("\u2019", "'")))


def clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.split(text) if c and c.strip()]


def _plain(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def copy_ratio(claim: str, source: str) -> float:
    """How much ``claim`` reads as a copy of ``source``: difflib's character ratio of the two,
    lower-case and without punctuation (1.0: verbatim).

    Example: ``round(copy_ratio("Refunds take 9 days.", "Refunds take 5 days."), 2)`` -> 0.95
    """
    return difflib.SequenceMatcher(None, _plain(claim), _plain(source), autojunk=False).ratio()


def _words(text: str) -> set[str]:
    return set(tokenize([text])[0])


def _content(text: str) -> set[str]:
    """Content words without the generic ones and the negations themselves."""
    return {w for w in _words(text) if w not in _GENERIC and not _NEGATION.fullmatch(w)}


def judge(
    claim: str,
    claim_vector: np.ndarray,
    sources: Sequence[SearchResult],
    source_vectors: np.ndarray,
    config: VerifyConfig,
    nli: NLI | None = None,
    align_within: int | None = None,
) -> Judgement:
    """Align ``claim`` to its best sentence among ``sources`` and label it.

    ``claim_vector`` (dim,) and ``source_vectors`` (sources, dim) are L2-normalised embeddings.
    Only the first ``align_within`` sources (default: all; e.g. the cited chunk's sentences)
    may be aligned to; every other source is context a swapped word may come from.
    Example: ``judge("Refunds take 9 days.", v, [s], V, VerifyConfig()).label == "contradicted"``
    where ``s.text == "Refunds take 5 days."``.

    Over 60 lines: one ladder of decisions, first match wins, kept in the order it is argued.
    """
    within = len(sources) if align_within is None else min(align_within, len(sources))
    if not within:
        return Judgement(claim, "unsupported", None, 0.0, "no source to check against")
    words, stated = _words(claim), claim_figures(claim)
    best, cosine, coverage, found = _align(
        words, stated, claim_vector, sources, source_vectors, within
    )
    source, text = sources[best], sources[best].text
    fit = float(cosine[best] + coverage[best])

    def judged(label: Label, reason: str) -> Judgement:
        return Judgement(claim, label, source, round(fit, 4), reason, best)

    if coverage[best] < config.min_overlap / 2 and cosine[best] < config.min_similarity:
        return judged(
            "unsupported", f"the source is about something else (coverage {coverage[best]:.2f})"
        )
    missing = [g for g in stated if not g & found[best]]
    if missing:
        shown = ", ".join(sorted(min(g, key=len) for g in missing))
        if found[best]:
            return judged("contradicted", f"figure {shown} differs from the source's")
        return judged("unsupported", f"figure {shown} is not in the source")
    if _negation_flip(claim, text):
        return judged("contradicted", "negation differs from the source")
    plain_claim, plain_text = _plain(claim), _plain(text)
    if plain_claim and plain_claim in plain_text:
        # The source's own words, in its order: nothing moved or swapped into them.
        return judged("quoted", "verbatim")
    moved = _figure_moved(claim, stated, text)
    if moved:
        return judged("contradicted", f"{moved!r} goes with another figure in the source")
    # A common word swaps in from a sentence about as close to the claim as the aligned one
    # ("closes" from the pool's cleaning hours is a paraphrase); a name from any sentence.
    near = [i for i in range(len(sources)) if i != best and cosine[i] >= cosine[best] - 0.1]
    others = [s.text for i, s in enumerate(sources) if i != best]
    swapped = _swapped(words & _names(claim), _words(text), others, len(sources))
    swapped = swapped or _swapped(
        words, _words(text), [sources[i].text for i in near], len(sources)
    )
    if swapped:
        return judged("contradicted", f"{swapped!r} belongs to another source sentence")
    if plain_claim and copy_ratio(claim, text) >= config.quote_ratio:
        return judged("quoted", "verbatim")
    if nli is not None:
        verdict = nli.label(text, claim)
        if verdict == "entailment":
            return judged("supported", "NLI: entailment")
        if verdict == "contradiction":
            return judged("contradicted", "NLI: contradiction")
        return judged("unsupported", "NLI: neutral")
    if coverage[best] >= config.min_overlap or (
        cosine[best] >= config.min_similarity and coverage[best] >= config.min_overlap / 2
    ):
        return judged("supported", f"coverage {coverage[best]:.2f}, cosine {cosine[best]:.2f}")
    return judged("unsupported", f"coverage {coverage[best]:.2f}, cosine {cosine[best]:.2f}")


def _align(
    words: set[str],
    stated: list[set[str]],
    claim_vector: np.ndarray,
    sources: Sequence[SearchResult],
    source_vectors: np.ndarray,
    within: int,
) -> tuple[int, np.ndarray, np.ndarray, list[set[str]]]:
    """The source (among the first ``within``) a claim aligns to: (its index, cosine and word
    coverage of every source, every source's figures)."""
    cosine = source_vectors @ claim_vector.reshape(-1)
    coverage = np.array([len(words & _words(s.text)) / max(len(words), 1) for s in sources])
    found = [figures(s.text) for s in sources]
    # Alignment prefers a sentence stating the claim's figures: "3 to 5 days" aligns with the
    # EU sentence, which then shows that "Faroe" was borrowed from another one.
    agree = np.array([sum(bool(g & f) for g in stated) for f in found], dtype=float)
    score = cosine + coverage + 0.5 * agree / max(len(stated), 1)
    return int(np.argmax(score[:within])), cosine, coverage, found


def _negation_flip(claim: str, source: str) -> bool:
    """A source clause that the claim restates (2+ of its content words, most of them) with
    the opposite polarity, and no clause restated as fully with the same polarity.

    "Sale items are refunded at the original price." restates the clause "not at the
    original price" (all of it) better than "refunded at the price you actually paid".
    """
    parts = clauses(_ONLY_IF.sub(r"not\1unless", source)) or [source]
    for piece in clauses(_ONLY_IF.sub(r"not\1unless", claim)) or [claim]:
        words, polarity = _content(piece), negated(piece)
        flip = agree = 0.0
        for k, part in enumerate(parts):
            mine = _content(part)
            shared = len(words & mine)
            # "...mileage on cars but not on vans": a short negated clause denies the previous
            # clause's predicate for its own words ("The price includes mileage on vans.").
            elliptic = k > 0 and negated(part) and 0 < len(mine) <= 2 and mine <= words
            if elliptic and len(words & _content(parts[k - 1])) >= 2 and polarity != negated(part):
                flip = max(flip, 1.0)
                continue
            if shared < 2:
                continue  # one shared word ("not on vans") does not make a restatement
            share = shared / min(len(mine), len(words))  # overlap coefficient
            if negated(part) == polarity:
                agree = max(agree, share)
            elif share >= 0.6:
                flip = max(flip, share)
        if flip > agree:
            return True
    return False


_RELATIVE = re.compile(r"\s*(?:which|who|that|whose)\b", re.I)
_SEGMENT = re.compile(r"[,;:()]|\b(?:and|or|but|while|whereas)\b", re.I)
_FIGURE_START = re.compile(r"\d|\b(?:" + "|".join([*NUMBER_WORDS, *NAMED, "free"]) + r")\b", re.I)


def _names(text: str) -> set[str]:
    """Content words written as names: capitalised, not the first word ("Faroe", "EU")."""
    tokens = _WORD.findall(text)
    return _words(" ".join(t for t in tokens[1:] if t[:1].isupper()))


def _figure_moved(claim: str, groups: list[set[str]], source: str) -> str | None:
    """A claim word that the source attaches to a figure the claim does not state: "$28 for
    adults" against "$42 for adults and $28 for students" ("adult" goes with $42).

    A figure's context is its own segment (split at commas, "and", "or") plus its clause's
    head (the words before the clause's first figure, shared by the whole list).
    """
    if not groups:
        return None
    stated = set().union(*groups)
    # "six (6) months" states 6 twice, once without its unit: a segment holding the bare "6"
    # states the claim's figure too, it is not another one.
    stated |= {form.split(" ")[0] for form in stated}
    segments: list[tuple[set[str], set[str]]] = []
    context: set[str] = set()
    relative = False  # a stated figure sits in a relative clause ("vans, which include 150")
    for clause in re.split(r"[;:]", source):  # each clause has its own head
        pieces = [seg for seg in _SEGMENT.split(clause) if seg and seg.strip()]
        parts = [(figures(seg), _content(seg)) for seg in pieces]
        start = _FIGURE_START.search(clause)
        head = _content(clause[: start.start()]) if start else set()
        for k, (found, words) in enumerate(parts):
            if not found & stated:
                continue
            if k > 0 and _RELATIVE.match(pieces[k]):
                # "...on cars but not on vans, which include 150 miles per day": the relative
                # clause is about the segment just before it, not the sentence's head.
                context |= words | parts[k - 1][1]
                relative = True
            else:
                context |= words | head
        segments += parts
    words = _content(claim)
    for found, seg_words in segments:
        if (found or relative) and not found & stated:
            moved = sorted((seg_words - context) & words)
            if moved:
                return moved[0]
    return None


def _swapped(
    claim_words: set[str], aligned: set[str], pool: Sequence[str], context: int
) -> str | None:
    """A word the claim takes from another source sentence in place of one of the aligned
    sentence's: "Faroe" (from the Faroe sentence) where the aligned one says "EU".

    Both words must be distinctive (in at most a third of the context's sentences: "order"
    and "days" are everywhere), and the aligned sentence's word must not be in the sentence
    the claim's word came from (there they would both hold).
    """
    missing = {w for w in claim_words - aligned if w not in _GENERIC}
    extra = {w for w in aligned - claim_words if w not in _GENERIC}
    if not missing or not extra or not pool:
        return None
    units = [_words(p) for p in pool] + [aligned]
    limit = max(1, context // 3)

    def distinctive(word: str) -> bool:
        return sum(word in u for u in units) <= limit

    for word in sorted(w for w in missing if distinctive(w)):
        for unit in units[:-1]:
            if word in unit and any(w not in unit and distinctive(w) for w in extra):
                return word
    return None


def report(judgements: Sequence[Judgement]) -> dict:
    """The JSON the CLI and ``POST /v1/verify`` return: each sentence with its label, evidence
    and score, and a count per label.

    Example: ``report([...])["summary"] == {"quoted": 1, "supported": 0, ...}``
    """
    sentences = []
    for j in judgements:
        e = j.evidence
        where = None
        if e is not None:
            where = {
                "document": e.doc_id,
                "page": e.page_start,
                "snippet": e.text,
                "char_start": e.char_start,
                "char_end": e.char_end,
            }
        sentences.append(
            {
                "sentence": j.claim,
                "label": j.label,
                "evidence": where,
                "score": j.score,
                "reason": j.reason,
            }
        )
    labels: tuple[Label, ...] = ("quoted", "supported", "contradicted", "unsupported")
    summary = {label: sum(j.label == label for j in judgements) for label in labels}
    return {"sentences": sentences, "summary": summary}
