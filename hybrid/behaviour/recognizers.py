"""Presidio recognisers: patterns and word lists for addresses, names, places, dates, phones."""

from __future__ import annotations

import regex as re  # Presidio's regex engine: \p{Lu}, \K and variable-width lookbehind

from hybrid.behaviour.words import dictionary, is_word
from hybrid.config import RedactionConfig

__all__ = [
    "NAME_WORD",
    "NER_IGNORED",
    "NER_MAPPING",
    "PLACE",
    "dictionary",
    "is_word",
    "recognizers",
]

# spaCy labels -> Presidio entities. FAC (buildings, airports) counts as a location.
NER_MAPPING = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"}
NER_MAPPING |= {"DATE": "DATE_TIME", "TIME": "DATE_TIME", "NORP": "NRP", "ORG": "ORGANIZATION"}
NER_IGNORED = ["ORGANIZATION", "NRP", "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY"]
NER_IGNORED += ["ORDINAL", "PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART"]

# Street addresses. All case-insensitive (people type addresses in lowercase) unless a part
# says (?-i:...). Street types: USPS Publication 28 suffixes, then common European forms.
_SUFFIX = (
    r"(?:street|st|str|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl"
    r"|square|sq|terrace|way|parkway|pkwy|highway|hwy|crescent|close|grove|gardens|mews|row"
    r"|walk|trail|circle|cir|loop|alley|pass|path|pike|plaza|crossing|crossroad|heights|hill"
    r"|park|point|ridge|view|green|extensions?|junction|route|causeway|quay|esplanade"
    r"|parade|rise|vale|glen|manor|forges?|radial|greens|squares|streets|roads|lodge)s?"
)
_PREFIX = (
    r"(?:rua|rúa|rue|c/|via|viale|vicolo|corso|piazza|largo|calle|carrer|avenida|avda|paseo"
    r"|camino|travessa|praça|alameda|estrada|chemin|allée|impasse|quai|ulica|ul\.|al\.|aleja"
    r"|strada)"
)
_COMPOUND = (
    r"(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|vej|gade|gatan|gata|vägen|väg"
    r"|veien|vegen|gate|straat|laan|plein|kade|gracht|stræti|straeti|braut|vegur|stígur|tie"
    r"|katu|kuja|polku|tori|väylä|utca|ulica|útja|út|tér|u\.)"
)
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b\.?"
)
_S = r"[ \t]+"  # a gap inside one line: a street or a name never spans a line break
_WORD = r"\p{L}[\p{L}'’.-]*"
_NUM = r"\d{1,6}[a-z]?"
_POINT = rf"(?:{_S}(?:north|south|east|west|n|s|e|w|ne|nw|se|sw)\b\.?)?"
_NUMS = rf"\b(?:{_NUM}{_S}){{0,2}}"  # "33787 590 Edington Drive"
_UNIT = r"(?:[\s,]+(?:apt\.?|apartment|suite|ste\.|unit|flat|floor|room|\#)[ \t]*\#?\d+[a-z]?)*"
_US_TAIL = (  # ", Springfield, IL 62704"
    r"(?:,?[ \t]+(?-i:\p{Lu}\p{L}+(?:[ \t]\p{Lu}\p{L}+){0,2}),[ \t]*(?-i:[A-Z]{2})[ \t]+\d{5}"
    r"(?:-\d{4})?)?"
)
_BY_SUFFIX = rf"{_NUMS}{_NUM}{_S}(?:{_WORD}{_S}){{0,3}}{_SUFFIX}\b\.?{_POINT}"
_BY_PREFIX = (  # "12 rue de la Paix", "Via Roma 131"; not "via the website"
    rf"(?<![\w/.-])(?:(?:{_NUM}{_S}){{1,2}}{_PREFIX}{_S}(?:{_WORD}{_S}){{0,3}}{_WORD}(?:{_S}\d{{1,5}})?"
    rf"|\b{_PREFIX}{_S}(?:{_WORD}{_S}){{0,2}}(?-i:\p{{Lu}}){_WORD}{_S}\d{{1,5}}\b)"
)
_BY_COMPOUND = (
    rf"{_NUMS}(?:(?-i:\p{{Lu}}){_WORD}{_S}(?:{_WORD}{_S})?)?\p{{L}}*{_COMPOUND}{_S}\d{{1,5}}\b\.?"
)
_NUMBERED = (
    rf"\b{_NUM}{_S}(?!{_MONTH})(?-i:\p{{Lu}}{_WORD}(?:{_S}{_WORD}){{0,2}}){_S}\d{{1,5}}\b\.?"
)
_NAME_NUMBER = rf"\b(?!{_MONTH})(?-i:\p{{Lu}}\p{{Ll}}+(?:[ \t]\p{{Lu}}\p{{Ll}}+)?){_S}\d{{1,5}}\b"
_CORNER = (  # "the corner of Main St and 5th Ave", up to the end of the phrase
    r"\bcorner[ \t]+of[ \t]+\K[^,;:\n]{2,60}?[ \t]+and[ \t]+[^,;:\n?!]{2,40}?"
    r"(?=[ \t]*(?:[,;:!?\n]|\.(?:\s|$)|$))"
)
_PO_BOX = rf"\b(?:{_NUM}{_S})?(?:p\.?[ \t]?o\.?{_S}box|postbox){_S}\d{{1,6}}\b"
_MILITARY = (  # "PSC 1234, Box 5678\nAPO AE 09876", "USNS Vincent\nFPO AA 12345"
    r"\b(?:(?:psc|unit|cmr)[ \t]+\d{3,5},?[ \t]+box[ \t]+\d{3,5}"
    r"|(?:uss|usns|usnv|uscgc)[ \t]+\p{L}+)(?:[\s,]+[afd]po[ \t]+a[aep][ \t]+\d{5})?"
)
_ADDRESS = [
    ("suffix", _BY_SUFFIX + _UNIT + _US_TAIL, 0.6),
    ("type first", _BY_PREFIX + _UNIT, 0.6),
    ("compound", _BY_COMPOUND + _UNIT, 0.5),
    ("numbered", _NUMBERED + _UNIT, 0.45),
    ("name + number", _NAME_NUMBER + _UNIT, 0.1),  # "Harjukuja 54": only near an address cue
    ("corner", _CORNER, 0.6),
    ("po box", _PO_BOX + _UNIT, 0.6),
    ("military", _MILITARY, 0.6),
    ("unit", r"\b(?:apt\.?|apartment|suite)[ \t]*\#?\d{1,5}[a-z]?\b", 0.4),
]
_ADDRESS_CONTEXT = ["address", "live", "located", "street", "deliver", "ship", "send", "move"]
_ADDRESS_CONTEXT += ["corner", "meet", "office", "return", "stop", "station", "arrive", "visit"]

# People: titles, "J. R." style initials, introductions; case-sensitive.
NAME_WORD = r"(?!(?:Apt|Suite|Unit|Street|Road|Avenue)\b)\p{Lu}[\p{Ll}'’-]+"
_PARTICLE = r"(?:\p{Lu}\.?|van|von|de|der|den|da|di|du|del|la|ten|ter|bin|al)"
_NAME = rf"{NAME_WORD}(?:(?:[ \t]+{_PARTICLE})*[ \t]+{NAME_WORD}){{0,2}}"
_TITLE = r"(?<!\p{Lu}\p{Ll}+[ \t])\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam)\.?[ \t]+\K"
_INTRODUCED = (
    r"(?i:\b(?:name[ \t]+is|name's|name[:?]|i[ \t]+am|i'm|this[ \t]+is|(?:called|named)"
    r"(?:[ \t]+(?:him|her|me))?|dear|hi|hello|hey)\s+)\K"
)
_PERSON = [
    ("title", _TITLE + _NAME, 0.85),
    ("middle initial", rf"\b{NAME_WORD}[ \t]+\p{{Lu}}\.?[ \t]+{NAME_WORD}\b", 0.6),
    ("introduced", _INTRODUCED + _NAME, 0.5),
]
# Places after a verb of living or moving; a cue outranks the model reading a name (0.85).
PLACE = r"\p{Lu}[\p{L}'’-]*(?:(?:[ \t]+(?:de|del|la|do|da|di|du|nad))?[ \t]+\p{Lu}[\p{L}'’-]*){0,3}"
_PLACE_CUE = (
    r"(?i:\b(?:lives?|lived|living|based|located|situated|born|grew[ \t]+up|raised"
    r"|stay(?:s|ed|ing)?|am|is|are|arrived|flew|moved(?:[ \t]+here)?|travel(?:l?ed)?|went"
    r"|came|returned|relocated|originally)[ \t]+(?:in|to|at|from)[ \t]+|\bwhere:[ \t]*)\K"
)
_LOCATION = [("place cue", _PLACE_CUE + PLACE, 0.9)]

_DATE = (
    rf"(?:\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{1,4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?"
    rf"\s+\d{{2,4}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}})"
)
_BIRTH_CUE = r"\b(?:born|birth|birthday|birthdate|d\.?o\.?b\.?)\b[^\n.!?]{0,25}?\K"
_BIRTH = [("birth cue", _BIRTH_CUE + _DATE, 0.85)]

# Phone numbers in any national format: digit groups split by single spaces, dots or dashes,
# an area code in brackets, an extension; never across a line break.
_EXT = r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,5})?(?![\w/]|[.-]\d)"
_GROUPED = rf"(?<![\w+/.-])(?:\(\d{{1,4}}\)[ .-]?)?\d{{2,6}}(?:[ .-]\(?\d{{1,6}}\)?){{1,4}}{_EXT}"
_INTL = r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,12}(?:[ .-]\(?\d{1,6}\)?){0,4}" + _EXT
_PHONE_CUE = r"(?i:\b(?:call|ring|text|reach|contact|phone|dial)\b[^\n.?!\d]{0,20}?)\K"
_PHONE_LABEL = r"(?=[ \t-]*\(?(?i:office|mobile|cell|fax|home|work|tel|phone)\b)"
_PHONE = [
    ("grouped", _GROUPED, 0.25),  # only with a context word nearby
    ("after cue", _PHONE_CUE + _GROUPED, 0.6),  # "call" is a spaCy stop word: no context
    ("labelled", _GROUPED + _PHONE_LABEL, 0.6),
    ("labelled digits", r"(?<![\w+/.-])\d{7,15}" + _PHONE_LABEL, 0.6),
]
_PHONE_CONTEXT = ["phone", "telephone", "tel", "mobile", "cell", "fax", "desk", "office"]
_PHONE_CONTEXT += ["reach", "contact", "text", "sms", "whatsapp", "dial", "answer", "message"]
_CARD_CONTEXT = ["card", "credit", "debit", "cc", "visa", "mastercard", "amex", "maestro"]


def recognizers(config: RedactionConfig, words: frozenset[str]) -> list:
    """Our recognisers, added to Presidio's predefined ones and spaCy's NER."""
    from presidio_analyzer import Pattern, PatternRecognizer

    from hybrid.behaviour.presidio_custom import DigitCount, ProperNameRuns

    def build(entity, patterns, context=None, case=False, cls=PatternRecognizer, **extra):
        return cls(
            supported_entity=entity,
            name=f"hybrid_{entity.lower()}",
            patterns=[Pattern(name, regex, score) for name, regex, score in patterns],
            context=context,
            global_regex_flags=re.MULTILINE | (0 if case else re.IGNORECASE),
            **extra,
        )

    ours = [
        build("STREET_ADDRESS", _ADDRESS, _ADDRESS_CONTEXT),
        build("PERSON", _PERSON, case=True),
        ProperNameRuns(words, supported_entities=["PERSON"], name="hybrid_proper_name_runs"),
        build("LOCATION", _LOCATION, case=True),
        build("DATE_OF_BIRTH", _BIRTH),
        # Presidio's own recogniser takes valid numbers of a few countries; these take any
        # national format near a phone word, or with a country code.
        build("PHONE_NUMBER", _PHONE, _PHONE_CONTEXT, cls=DigitCount, low=7, high=15),
        build("PHONE_NUMBER", [("intl", _INTL, 0.5)], cls=DigitCount, low=8, high=15),
        # Card numbers failing the Luhn check (typos, test cards) still count near a card word.
        build("CREDIT_CARD", [("card", r"\b(?:\d[ -]?){11,18}\d\b", 0.1)], _CARD_CONTEXT),
    ]
    for custom in config.custom:
        patterns = [(custom.entity.lower(), custom.pattern, custom.score)]
        ours.append(build(custom.entity, patterns, list(custom.context) or None, case=True))
    return ours
