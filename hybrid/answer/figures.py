"""Figures in a sentence, in canonical forms: numbers, number words, amounts, durations in any
unit, months and weekdays. A claim's figure is checked against its source sentence's."""

from __future__ import annotations

import re

_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
NUMBER_WORDS = {word: i for i, word in enumerate(_SMALL)}
NUMBER_WORDS |= {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
NUMBER_WORDS |= {"eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12}
NUMBER_WORDS |= {"twice": 2}  # not "once" ("once we have it") nor "second" (a unit)
MONTHS = (
    "january february march april may june july august september october november december"
).split()
NAMED = [*MONTHS, *"monday tuesday wednesday thursday friday saturday sunday".split()]
# Durations convert, so "two weeks" is "14 days" and "a year" is "12 months".
DURATIONS = {"day": 1, "week": 7, "month": 30, "year": 365, "hour": 1 / 24, "minute": 1 / 1440}
# "nothing" usually means free ("costs nothing"), so it is not a negation here.
_DURATION_AFTER = frozenset("for within in after about over than".split())
_WORD = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?|\d+(?:[.,:]\d+)*")


def figures(text: str) -> set[str]:
    """Every figure of a text in canonical forms: "14 days" gives {"14", "14 day", "2 week"};
    "two weeks" gives {"2", "2 week", "14 day"}; "$3.50" gives {"3.5"}; "March" gives {"march"}.

    Example: ``figures("Returns within fourteen days") >= {"14", "14 day"}``
    """
    words = [w.lower() for w in _WORD.findall(text.replace("\u2019", "'"))]
    out: set[str] = set()
    for i, word in enumerate(words):
        value: float | None = None
        if word[0].isdigit():
            if ":" in word:  # a time of day: "09:00" and "9:00" agree
                out.add(":".join(str(int(p)) for p in word.split(":") if p.isdigit()))
                continue
            digits = word.replace(",", "")
            try:
                value = float(digits)
            except ValueError:
                continue
        elif word in NUMBER_WORDS:
            value = float(NUMBER_WORDS[word])
        elif word in NAMED and not (word == "may" and i > 0):  # "may" mid-sentence is a verb
            out.add(word)
            continue
        elif word == "free":  # an amount: "returns in store are free" vs "cost $4.95"
            out.add("0")
            continue
        elif word in ("a", "an") and i + 1 < len(words) and _unit(words[i + 1]):
            if i == 0 or words[i - 1] not in _DURATION_AFTER:
                continue  # "$28 a month", "once a week": a rate, not a duration
            value = 1.0  # "within a week"
        if value is None:
            continue
        if word not in ("a", "an"):
            out.add(_number(value))
        unit = _unit(words[i + 1]) if i + 1 < len(words) else None
        if unit is None and i + 2 < len(words) and words[i + 1] in ("business", "working"):
            unit = _unit(words[i + 2])
        if unit:
            days = value * DURATIONS[unit]
            out.add(f"{_number(value)} {unit}")
            for other, size in DURATIONS.items():
                if other != unit and size >= 1 and days % size == 0:
                    out.add(f"{_number(days / size)} {other}")
    return out


def _unit(word: str) -> str | None:
    stem = word[:-1] if word.endswith("s") else word
    return stem if stem in DURATIONS else None


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def claim_figures(text: str) -> list[set[str]]:
    """One set of equivalent forms per figure of the claim ("two weeks": {"2 week", "14 day"})."""
    found = figures(text)
    with_unit = {f for f in found if " " in f}
    groups: list[set[str]] = []
    for form in sorted(with_unit):
        group = {f for f in with_unit if _same_duration(f, form)}
        if group not in groups:
            groups.append(group)
    bare = {f.split(" ")[0] for f in with_unit}
    for form in sorted(found - with_unit):
        if form not in bare:  # "14" of "14 days" is checked with its unit
            groups.append({form})
    return groups


def _same_duration(a: str, b: str) -> bool:
    (na, ua), (nb, ub) = a.split(" "), b.split(" ")
    return abs(float(na) * DURATIONS[ua] - float(nb) * DURATIONS[ub]) < 1e-9
