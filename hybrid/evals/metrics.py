"""Answer metrics on a 0-1 scale: SQuAD token F1, answer recall, fact match, echo and loop.

Pure functions of strings, so each can be checked on hand-made cases.
"""

from __future__ import annotations

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)
_CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_ECHO_NGRAM = 6  # this many consecutive words of the instructions in an answer is an echo


def normalise(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = _CITATION.sub(" ", text.lower())
    return " ".join(_ARTICLES.sub(" ", text.translate(_PUNCT)).split())


def token_f1(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    """Best SQuAD token F1 over the gold answers (0 when there are none).

    Example: ``round(token_f1("Returns take 30 days [1].", ["30 days"]), 2) == 0.67``
    """
    predicted = normalise(prediction).split()
    best = 0.0
    for gold in golds:
        wanted = normalise(gold).split()
        common = sum((Counter(predicted) & Counter(wanted)).values())
        if common:
            precision, recall = common / len(predicted), common / len(wanted)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def answer_recall(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    """Best share of a gold answer's tokens present in the prediction."""
    predicted = Counter(normalise(prediction).split())
    best = 0.0
    for gold in golds:
        wanted = Counter(normalise(gold).split())
        if wanted:
            best = max(best, sum((predicted & wanted).values()) / sum(wanted.values()))
    return best


def fact_match(prediction: str, golds: tuple[str, ...] | list[str]) -> bool:
    """A gold answer appears in the prediction (both normalised)."""
    said = f" {normalise(prediction)} "
    return any(f" {normalise(gold)} " in said for gold in golds if normalise(gold))


def is_echo(answer: str, instructions: str) -> bool:
    """The answer repeats the prompt's scaffolding: "Question:", or 6+ consecutive words of the
    template's instructions (``instructions`` is the template rendered without evidence)."""
    if "question:" in answer.lower():
        return True
    words = normalise(answer).split()
    told = normalise(instructions).split()
    grams = {tuple(told[i : i + _ECHO_NGRAM]) for i in range(len(told) - _ECHO_NGRAM + 1)}
    return any(tuple(words[i : i + _ECHO_NGRAM]) in grams for i in range(len(words)))


def is_loop(answer: str) -> bool:
    """A sentence, or a span of 3+ words, occurs 3 or more times."""
    sentences = [normalise(s) for s in re.split(r"(?<=[.!?])\s+|\n+", answer) if normalise(s)]
    if any(count >= 3 for count in Counter(sentences).values()):
        return True
    words = normalise(answer).split()
    for n in (3, 4, 5, 6, 8):
        grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
        if grams and max(grams.values()) >= 3:
            return True
    return False
