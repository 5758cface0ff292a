"""Table rows in answers: a quoted row cut to the cell the question asks about.

A table row reaches the answerer as one sentence (``knowledge.tables``): "Van class: C - Long
wheelbase, Load space: 11 m3, Daily rate: £79, Weekly rate: £469, Free miles per day: 120
miles, Deposit: £400." Quoted whole, it answers "What's the daily price for a long wheelbase
van?" with five figures nobody asked for, one of them the answer. Cut to the row's first cell
(what the row is about) and the cell asked for, it reads "Van class: C - Long wheelbase, Daily
rate: £79." The asked cell is the one whose words the question shares, that states the kind of
value asked for ("How much ...?": a price; ``answer.expected``), and that is nearest the
question (MiniLM cosine), added up.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from hybrid.answer import expected
from hybrid.answer.evidence import ASKING_WORDS
from hybrid.knowledge.lexical import tokenize

# A cell starts after ", " with a capitalised column name of up to 40 characters and ": ".
_CELL = re.compile(r",\s+(?=[A-Z][^,:.]{0,40}:\s)")


def cells(sentence: str) -> list[str] | None:
    """The "Column: value" cells of a table row sentence (3 or more), or None for any other
    sentence.

    Example: ``cells("Plan: Plus, Price: $9, Seats: 5.")`` -> ``["Plan: Plus", "Price: $9",
    "Seats: 5"]``
    """
    parts = _CELL.split(sentence.strip().rstrip("."))
    if len(parts) < 3 or not all(re.match(r"[^:]{1,40}:\s", p) for p in parts):
        return None
    return parts


def asked_cell(
    question: str,
    row: list[str],
    question_vector: np.ndarray,
    embed: Callable[[list[str]], np.ndarray],
) -> int | None:
    """The position in ``row`` (after the first cell) of the cell ``question`` asks about, or
    None when it asks about none in particular: it shares no word with any cell's column name
    and asks for no kind of value ("What does the Flex Desk plan include?").

    Score: share of the question's words in the cell + 0.5 when the cell states the kind asked
    + cosine(question, cell). ``question_vector``: (dim,), L2-normalised like ``embed``'s.
    """
    words = set(tokenize([question])[0]) - ASKING_WORDS
    kind = expected.asks_for(question)
    names = [set(tokenize([c.split(":", 1)[0]])[0]) for c in row[1:]]
    if kind is None and not any(words & n for n in names):
        return None
    cosine = embed(row[1:]) @ np.asarray(question_vector).reshape(-1)  # (cells - 1,)
    scores = [
        len(words & set(tokenize([c])[0])) / max(len(words), 1)
        + (0.5 if kind is not None and expected.states(kind, c) else 0.0)
        + float(cos)
        for c, cos in zip(row[1:], cosine)
    ]
    return 1 + int(np.argmax(scores))


def trim(
    question: str,
    sentence: str,
    question_vector: np.ndarray,
    embed: Callable[[list[str]], np.ndarray],
) -> str:
    """``sentence`` cut to its first cell and the asked cell when it is a table row and the
    question asks about one of its cells; otherwise as it is.

    Example: for "What's the daily price for a long wheelbase van?", "Van class: C, Daily rate:
    £79, Weekly rate: £469, Deposit: £400." -> "Van class: C, Daily rate: £79."
    """
    row = cells(sentence)
    if row is None:
        return sentence
    at = asked_cell(question, row, question_vector, embed)
    return sentence if at is None else f"{row[0]}, {row[at]}."
