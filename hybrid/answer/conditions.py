"""Conditions on figures: the asker says "10 days away", a sentence says "if you cancel less
than 7 days before"; the sentence whose condition holds goes first.

Asked "Our move is 10 days away and we cancel. Do we get the deposit back?", the three
cancellation sentences (less than 7 days, between 14 and 7 days, more than 14 days) score
alike, and the 135M answerer quotes whichever is [1]. Which one applies is arithmetic, not
meaning: the figures the question states (a duration, a distance, a weight, an age) are
compared with the bounds each sentence sets on the same kind of figure ("less than", "over",
"at least", "within", "between ... and ...", "... or more"). A sentence with no such bound
says nothing either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple, TypeVar

from hybrid.answer.figures import DURATIONS, NUMBER_WORDS
from hybrid.knowledge.lexical import tokenize

T = TypeVar("T")
Verdict = Literal["met", "unmet"]

# Each unit: its kind of figure and its size in that kind's base unit (days, as the claim
# figures count durations; km; kg; metres, for the size of a boat or a van; litres). "m" is
# metres: policies write minutes "min" or "mins".
_UNITS = {unit: ("time", size) for unit, size in DURATIONS.items()} | {
    "min": ("time", 1 / 1440), "hr": ("time", 1 / 24), "night": ("time", 1),
    "fortnight": ("time", 14), "km": ("distance", 1), "kilometre": ("distance", 1),
    "kilometer": ("distance", 1),
    "mile": ("distance", 1.609), "kg": ("weight", 1), "kilo": ("weight", 1),
    "kilogram": ("weight", 1), "m": ("length", 1), "metre": ("length", 1),
    "meter": ("length", 1), "cm": ("length", 0.01), "ft": ("length", 0.3048),
    "foot": ("length", 0.3048), "feet": ("length", 0.3048), "l": ("volume", 1),
    "litre": ("volume", 1), "liter": ("volume", 1), "h": ("time", 1 / 24),
    "mi": ("distance", 1.609),
}  # fmt: skip
_NUMBER = r"\d+(?:\.\d+)?|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + "|an?"
_UNIT = r"(?:working |business |calendar )?(" + "|".join(_UNITS) + r")s?\b"
# Not a sum of money ("£3 m"): a figure is a number and its unit.
_FIGURE = rf"(?<![£$€])({_NUMBER})[ -]{_UNIT}"
# A band: "10 to 25 kg", "7.01 m to 9 m", "25-40 kg" (the last unit counts for both).
_RANGE = re.compile(
    rf"(?<![£$€\d.])(?P<low>\d+(?:\.\d+)?)(?:\s?{_UNIT})?\s*(?:to|-|–)\s*"
    rf"(?P<high>\d+(?:\.\d+)?)\s?{_UNIT}",
    re.IGNORECASE,
)
# A bound is a comparison before a figure, or "or more" / "or less" after it.
ABOVE = r"more than|over|at least|after|longer than|beyond|no less than|a minimum of"
BELOW = r"less than|fewer than|under|within|up to|at most|no more than|no later than|a maximum of"
_BOUND = re.compile(
    rf"\b(?:(?P<op>{ABOVE}|{BELOW})\s+{_FIGURE}"
    rf"|{_FIGURE}\s+or\s+(?P<after>more|longer|over|less|fewer|under)\b"
    rf"|between\s+(?P<low>{_NUMBER})(?:[ -]{_UNIT})?\s+and\s+(?P<high>{_NUMBER})[ -]{_UNIT})",
    re.IGNORECASE,
)
# "up to 24 hours before" / "no later than 10 days before" an event is a deadline: it holds while
# at least that long remains ("book up to 7 days ahead" is a window, and stays a bound below).
_BY = ("up to", "no later than")
_DEADLINE = re.compile(r"['’]?s?\s+(?:before|prior to)\b", re.IGNORECASE)
# An age, in a question: "I'm 24", "my son is 19", "my 13-year-old", "aged 70".
_AGE_ASKED = re.compile(
    rf"\b(?:({_NUMBER})[ -]years?[ -]old|aged ({_NUMBER})|(?:i'm|i am|is|am|turned) "
    rf"(\d+)\b(?![ -]?(?:[a-z%]|\d)|[.,]\d))",
    re.IGNORECASE,
)
# ... and in a sentence: "under 21", "aged 65 or over", "children under 2", "18 or older".
_NOT_AGE = (
    r"(?![ -]?(?:%|[€£$]|eur|gbp|usd|chf|kg|km|mile|minute|hour|day|week|month|m\b|cm|item"
    r"|people|person))"
)
_AGE_BOUND = re.compile(
    rf"\b(?:(?P<op>under|over|below|above|aged under|aged over)\s+(\d+)\b{_NOT_AGE}"
    rf"|(?:aged\s+)?(\d+)(?:\s+years)?\s+(?:or|and)\s+(?P<after>over|older|above|under|younger)\b"
    rf"|aged\s+(\d+)\s*(?:to|-|–)\s*(\d+)\b)",
    re.IGNORECASE,
)


# A bound this many times the asker's figure, or less, is about it (see ``met_first``).
NEAR = 4.0


class Stated(NamedTuple):
    kind: str  # "time", "distance", "weight", "length", "volume" or "age"
    value: float  # in the kind's base unit (days, km, kg, m, litres, years)


class Bound(NamedTuple):
    kind: str
    low: float | None  # holds for values at or above this (None: no lower bound)
    high: float | None


def _number(text: str) -> float:
    word = text.lower()
    return 1.0 if word in ("a", "an") else float(NUMBER_WORDS.get(word, word))


def _size(unit: str) -> tuple[str, float]:
    return _UNITS[unit.lower()]


def measure(value: float, unit: str) -> Stated | None:
    """``value`` in ``unit`` ("metre", "kg", "hour") as a figure in its kind's base unit; None
    for a unit these conditions do not read.

    Example: ``measure(6, "metre")`` -> ``Stated("length", 6.0)``
    """
    kind, size = _UNITS.get(unit.lower(), (None, 0.0))
    return Stated(kind, value * size) if kind else None


def spellings(unit: str) -> str | None:
    """A pattern for the ways a document writes ``unit`` (every unit of its kind and size, "s"
    optional); None for a unit these conditions do not read.

    Example: ``spellings("metre")`` -> ``"(?:m|metre|meter)s?"``
    """
    size = _UNITS.get(unit.lower())
    if size is None:
        return None
    return "(?:" + "|".join(re.escape(u) for u, s in _UNITS.items() if s == size) + ")s?"


def holds(bound: Bound, figure: Stated) -> bool:
    """Whether ``figure`` is of ``bound``'s kind and within it (inclusive, to rounding).

    Example: ``holds(Bound("length", 7.01, 9.0), Stated("length", 8.5))`` -> True
    """
    return (
        figure.kind == bound.kind
        and (bound.low is None or figure.value >= bound.low * (1 - 1e-9))
        and (bound.high is None or figure.value <= bound.high * (1 + 1e-9))
    )


def stated(question: str) -> list[Stated]:
    """The figures the asker states: durations, distances, weights and ages, in base units. A
    figure the asker bounds ("more than two weeks overdue") counts as just past the bound.

    Example: ``stated("Our move is 10 days away.")`` -> ``[Stated("time", 10.0)]``
    """
    found = []
    # Not an age ("my one-year-old"): that is read below.
    asked = rf"(?:\b({ABOVE}|{BELOW})\s+)?\b{_FIGURE}(?![ -]old)"
    for match in re.finditer(asked, question, re.I):
        if match[2].lower() in ("a", "an"):
            continue  # "a week" in a question is seldom the asker's figure ("for a week")
        head = question[: match.start()]
        if re.search(r"\b(?:first|last|next)\s+$", head, re.I):
            continue  # "the half-price first 8 weeks": an offer's name, not the asker's figure
        if _number(match[2]) == 1 and re.search(r"\b(?:in|per|each|every|any)\s+$", head, re.I):
            continue  # "the most they can charge in one month": a period, not a situation
        kind, size = _size(match[3])
        nudge = 0.0 if not match[1] else (1e-6 if re.fullmatch(ABOVE, match[1], re.I) else -1e-6)
        found.append(Stated(kind, _number(match[2]) * size * (1 + nudge)))
    for match in _AGE_ASKED.finditer(question):
        age = next(g for g in match.groups() if g)
        found.append(Stated("age", _number(age)))
    return found


def bounds(sentence: str) -> list[Bound]:
    """The bounds ``sentence`` sets on figures, in base units (inclusive either way: "less than
    7 days" and "7 days or less" differ by one value, and questions seldom state it).

    Example: ``bounds("If you cancel between 14 and 7 days before, we refund half.")`` ->
    ``[Bound("time", 7.0, 14.0)]``
    """
    found = []
    for m in _BOUND.finditer(sentence):
        if m["low"]:
            unit = m.group(8) or m.group(10)  # "between 7 and 14 days": the last unit for both
            kind, size = _size(m.group(10))
            low, high = sorted((_number(m["low"]) * _size(unit)[1], _number(m["high"]) * size))
            found.append(Bound(kind, low, high))
            continue
        number, unit = (m.group(2), m.group(3)) if m["op"] else (m.group(4), m.group(5))
        kind, size = _size(unit)
        value = _number(number) * size
        above = re.fullmatch(ABOVE, m["op"], re.I) if m["op"] else m["after"].lower() in (
            "more", "longer", "over",
        )  # fmt: skip
        if m["op"] and m["op"].lower() in _BY and _DEADLINE.match(sentence, m.end()):
            above = True  # "cancel up to 24 hours before it starts": 18 hours away is too late
        found.append(Bound(kind, value, None) if above else Bound(kind, None, value))
    for m in _RANGE.finditer(sentence):
        kind, size = _size(m.group(4))
        low = _number(m["low"]) * _size(m.group(2) or m.group(4))[1]
        found.append(Bound(kind, *sorted((low, _number(m["high"]) * size))))
    for m in _AGE_BOUND.finditer(sentence):
        if m.group(5):  # "aged 21 to 24"
            found.append(Bound("age", float(m.group(5)), float(m.group(6))))
            continue
        age = float(m.group(2) or m.group(3))
        word = (m["op"] or m["after"]).lower()
        above = word.split()[-1] in ("over", "above", "older")
        found.append(Bound("age", age, None) if above else Bound("age", None, age))
    return found


def verdict(asked: Sequence[Stated], sentence: str) -> Verdict | None:
    """ "met" when a bound the sentence sets on a kind of figure the asker stated holds for it
    (a sentence may set two: "less than 7 days before ..., and less than 48 hours before, we
    also charge ..."), or when it states that very figure ("unpaid 14 days after the due
    date"); "unmet" when it sets such bounds and none holds; None when it sets none.

    Example: ``verdict(stated("It is 10 days away."), "Cancel less than 7 days before: no
    refund.")`` -> ``"unmet"``
    """
    if _fit(asked, sentence) is not None:
        return "met"
    kinds = {s.kind for s in asked}
    return "unmet" if any(b.kind in kinds for b in bounds(sentence)) else None


def _fit(asked: Sequence[Stated], sentence: str) -> float | None:
    """How near the closest bound of ``sentence`` that holds for an ``asked`` figure is to it,
    as a ratio (1: the figure itself; "within 60 days" for 14 days: 4.3); None: none holds."""
    edges = [
        (s.value, edge)
        for b in bounds(sentence)
        for s in asked
        if holds(b, s)
        for edge in (b.low, b.high)
        if edge
    ]
    said = [  # the sentence's own figures, (kind, value): "unpaid 14 days after the due date"
        (kind, _number(m[1]) * size)
        for m in re.finditer(_FIGURE, sentence, re.I)
        if m[1].lower() not in ("a", "an")
        for kind, size in [_size(m[2])]
    ]
    edges += [
        (s.value, v) for s in asked for kind, v in said if kind == s.kind and _same(s.value, v)
    ]
    return min((max(a / b, b / a) for a, b in edges), default=None)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(a, b)  # not a bounded figure, nudged past its bound


def met_first(
    question: str, items: Sequence[T], text_of: Callable[[T], str], shown: int
) -> list[T]:
    """The first ``shown`` of ``items`` (best first), reordered for the figures ``question``
    states: when [1]'s bound on them does not hold and another item's does, that one (from
    further down when none shown holds) goes first, the rest keep their order, if its bound is
    near the figure (within ``NEAR`` times it: "more than 90 minutes" for "two hours late",
    not "within 12 months" for "18 hours away") or it holds as many of the question's words
    as [1]. When [1] sets no bound, only a sentence whose bound is near and that holds as many
    words moves first.

    Example: for "We move in 10 days and cancel. Do we get the deposit back?", ["Less than 7
    days before: no refund.", "Between 14 and 7 days before: half of the deposit."] -> the
    second first.
    """
    asked = stated(question)
    if not asked or not items:
        return list(items[:shown])
    first = verdict(asked, text_of(items[0]))
    if first == "met":
        return list(items[:shown])
    words = set(tokenize([question])[0])

    def shared(item: T) -> int:  # how many of the question's words ``item`` holds
        return len(words & set(tokenize([text_of(item)])[0]))

    for i, item in enumerate(items):
        fit = _fit(asked, text_of(item))
        if fit is None:
            continue
        near = fit <= NEAR
        # A sentence that says as much of what was asked as [1] (the 12 m band row is not the
        # answer to "what surcharge for my 12 m catamaran?"; "more than 15 minutes late" is
        # not about cancelling 18 hours ahead).
        apt = shared(item) >= shared(items[0])
        if (near and apt) if first is None else (near or apt):
            rest = [x for j, x in enumerate(items) if j != i]
            return [item, *rest[: shown - 1]]
    return list(items[:shown])


def holds_instead(question: str, first: str, quoted: str) -> bool:
    """Whether a bound of ``first`` holds for a figure ``question`` states and ``quoted``
    (another evidence sentence, the one an answer quotes) has none that does: the answer
    should quote ``first``.

    Example: ``holds_instead("My rent is more than two weeks overdue. What happens?", "If rent
    is unpaid after 14 days, your gate code is suspended.", "If rent is unpaid for 60 days, we
    may sell the contents.")`` -> True
    """
    asked = stated(question)
    return bool(asked) and verdict(asked, first) == "met" and verdict(asked, quoted) != "met"


def about(question: str, sentence: str) -> bool:
    """Whether ``sentence`` sets a bound that holds for a figure ``question`` states, within
    ``NEAR`` times it: the sentence is about the asker's situation, whatever its words.

    Example: ``about("Our ferry left two hours late.", "If a departure is delayed by more than
    90 minutes, you get a voucher.")`` -> True
    """
    fit = _fit(stated(question), sentence)
    return fit is not None and fit <= NEAR
