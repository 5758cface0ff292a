"""The kind of value a question asks for (a time of day, an amount of money, a span, a
number), and whether a sentence states one.

The answerer quotes evidence sentence [1] nine times in ten. When the nearest sentence cannot
answer what is asked ("How much does a freeze cost?" -> "You can freeze your membership for up
to 2 months.", no price in it) and a sentence shown after it can ("A freeze costs £5 per
month."), that one goes first. This is the answer-type check of classic question answering,
kept to four kinds that a regular expression tells reliably ("How long ...?" asks for a span
of time or length); "When ...?" asks for a date, a time or a condition, and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

Kind = Literal["clock", "money", "duration", "number"]
T = TypeVar("T")

# What is asked, tried in this order: "How many months do I pay for?" counts months (not money).
# Only a price asked for is money: "How do I pay my bill?" and "How are fees calculated?" are not.
_PRICE = r"(fees?|prices?|costs?|charges?|rates?)"
_ASKS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    # "What time frame ...?" asks no time; "by when" asks for a date or a deadline as often.
    ("clock", re.compile(
        r"\bwhat time\b(?! (frame|limit|zone|period|scale))|\b(until|till) when\b"
        r"|\b(what|which) hours\b"
    )),
    # "How long is the free trial?" asks for a span: "Each household can use the trial once."
    # states a number and no span. (A length, "How long is the cable?", is a span too.)
    ("duration", re.compile(r"\bhow long\b")),
    ("number", re.compile(r"\bhow (many|old|soon|quickly|fast|far|often)\b")),
    ("money", re.compile(
        r"\bhow much (is|are|was|were|do|does|did|will|would|should|can|could)\b"
        rf"|\bwhat('s)?( \S+){{0,5}}? {_PRICE}\b"
        r"|\bwhat (does|do|did|will|would)\b.* (cost|charge)\b"
    )),
    # "How much notice", "how much data", "the minimum age": an amount of something else.
    ("number", re.compile(r"\bhow much\b|\b(minimum|maximum|what age)\b")),
)  # fmt: skip
_WH = re.compile(r"\b(what|which|how|until when|till when)\b")
# "What happens if ...?", "What does Kelvarro do if ...?": what follows a condition.
_FOLLOWS = re.compile(
    r"\bwhat (happens|will happen|would happen|happened)\b"
    r"|\bwhat (do|does|will|would) (\S+ ){1,3}do (if|when|once|after)\b"
)
# Counts ("two weeks") and the other words that state a number ("twice", "monthly").
_COUNT_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand"
)
_NUMBER_WORDS = (
    f"{_COUNT_WORDS} dozen fortnight once twice half daily weekly monthly yearly annually "
    "immediately"
)
# What a sentence states: "3 pm", "10.30 pm", "5 p.m", "noon", "18:00"; "$3.50", "£5", "5 €",
# "20 EUR", "15%", "free (of charge)"; a figure, a number word or "a month" / "every week".
# Currencies as written beside a figure: ISO 4217 codes of the common ones ("CHF 390", "99 SEK")
# and their names; symbols in the pattern below. A code alone ("USD") states no amount. Not
# those that are English words beside a number too ("try 3 times", "2 ore samples").
_CURRENCY_CODES = (
    "usd eur gbp chf jpy cny rmb aud cad nzd sek nok dkk isk pln czk huf ron bgn inr sgd hkd "
    "zar brl mxn krw aed sar qar ils thb myr idr twd"
)
_CURRENCY_NAMES = (
    r"dollars? pounds? euros? cents? pence percent francs? rappen yen yuan rupees? kron(or|a|er|ur)"
    r" zloty(s)? rand reais dirhams? riyals? shekels? baht ringgit"
)
_CURRENCY = "|".join(_CURRENCY_CODES.split() + _CURRENCY_NAMES.split())
# Written before or after the amount: "Fr. 12.50", "12.50 Fr.", "450 kr", "50 zł", "Rs 500"
# (not the "Fr." of "Mo-Fr. 8 am", opening hours).
_SHORT = r"(s?fr\.?|kr\.?|zł|rs\.?)"
_STATES: dict[Kind, re.Pattern[str]] = {
    "clock": re.compile(
        r"\b\d{1,2}([:.]\d{2})?\s?(am|pm|a\.m\.?|p\.m\.?)(?!\w)|\b(noon|midday|midnight)\b"
        r"|\b\d{1,2}:\d{2}\b",
        re.IGNORECASE,
    ),
    "money": re.compile(
        r"[$£€¥₹₩₺₽₪₱฿₫₦₴]\s?\d|\d\s?([$£€¥₹₩₺₽₪₱฿₫₦₴%]|(" + _CURRENCY + r")\b"
        rf"|{_SHORT}(?!\w))|(?<![-–\w])({_SHORT}|"
        + "|".join(_CURRENCY_CODES.split())
        + r")\s?\d|\b\d+p\b"
        # "free of charge", not "feel free to", "free from defects", "gluten-free"
        r"|(?<![-\w])free\b(?!\s+(to|from|of defects))",
        re.IGNORECASE,
    ),
    # "30 days", "3-5 business days", "2 to 4 weeks", "a month", "one year", "48 hrs", "2 m"
    "duration": re.compile(
        # A word needs a gap before its unit ("a month"; "am" is no span).
        r"(\d+(\s?(-|to|or)\s?\d+)?[\s-]?|\b(a|an|"
        + "|".join(_COUNT_WORDS.split())
        + r")[\s-])(working |business |calendar |full |consecutive )?"
        r"(seconds?|minutes?|mins?|hours?|hrs?|h|days?|nights?|weeks?|months?|years?|km|kilomet"
        r"(er|re)s?|miles?|metres?|meters?|m|cm|inch(es)?|feet|foot)\b|\bfortnight"
        r"|\b(overnight|same day|next day|indefinitely|for ever|forever)\b",
        re.IGNORECASE,
    ),
    "number": re.compile(
        r"\d|\b(" + "|".join(_NUMBER_WORDS.split()) + r")\b"
        r"|\b(a|an|per|every|each) (hour|day|week|month|year)\b",
        re.IGNORECASE,
    ),
}


def asks_for(question: str) -> Kind | None:
    """The kind of value ``question`` asks for, or None.

    Example: ``asks_for("What does a late check-out cost?")`` -> ``"money"``;
    ``asks_for("Until when can I change my order?")`` -> ``"clock"``
    """
    text = question.lower()
    if not _WH.search(text):
        return None  # "Does it offer a free trial before the first charge?" asks yes or no
    return next((kind for kind, pattern in _ASKS if pattern.search(text)), None)


def asks_what_follows(question: str) -> bool:
    """Whether ``question`` asks what follows a condition or an event. A document states the
    condition first and what follows in the next sentence ("Check-in closes 15 minutes before
    departure. Passengers who arrive after it closes may be moved to the next sailing ..."),
    and the condition is what matches the question best.

    Example: ``asks_what_follows("What happens if I miss check-in?")`` -> True
    """
    return _FOLLOWS.search(question.lower()) is not None


def states(kind: Kind, text: str) -> bool:
    """Whether ``text`` states a value of ``kind``.

    Example: ``states("money", "A freeze costs £5 per month.")`` -> True
    """
    if kind not in _STATES:
        raise ValueError(f"kind: {kind!r} is not one of {sorted(_STATES)}")
    return _STATES[kind].search(text) is not None


def kind_first(question: str, items: Sequence[T], text_of: Callable[[T], str]) -> list[T]:
    """``items`` (best first) with the first one that states what ``question`` asks for moved
    to the front, when the first does not; unchanged otherwise.

    Example: ``kind_first("How many guest passes come with Plus?", ["Plus members can bring a
    guest.", "Plus adds 2 guest passes a month."], str)`` -> the second first.
    """
    kind = asks_for(question)
    if kind is None or not items or states(kind, text_of(items[0])):
        return list(items)
    for i, item in enumerate(items):
        if states(kind, text_of(item)):
            return [item, *items[:i], *items[i + 1 :]]
    return list(items)
