"""PII redaction with Presidio and spaCy into typed pseudonyms such as ``<PERSON_1>``.

Over 300 lines: detection, the overlap rules between recognisers, the pseudonym map and the
report are one pass over a text; the recognisers' patterns live in ``recognizers.py``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import regex as re  # Presidio's regex engine: \p{Lu}, \K and variable-width lookbehind

from hybrid.behaviour.recognizers import (
    NAME_WORD,
    NER_IGNORED,
    NER_MAPPING,
    PLACE,
    dictionary,
    is_word,
    recognizers,
)
from hybrid.config import RedactionConfig

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")
# Never PII: our placeholders and template slots such as "{{Order Number}}" in support data.
_NOT_PII = re.compile(rf"{PLACEHOLDER.pattern}|\{{\{{[^{{}}\n]{{1,60}}\}}\}}")

_FUZZY = {"PERSON", "LOCATION", "DATE_TIME"}  # types read from language, not from a format


@dataclass(frozen=True)
class Span:
    """One detection: ``Span("PERSON", 0, 8, 0.85, "Jane Doe")``."""

    entity: str
    start: int
    end: int
    score: float
    text: str


@dataclass
class RedactedExample:
    """Redacted turns of one example, detections per type, and placeholder -> original."""

    turns: list[str]
    counts: dict[str, int]
    mapping: dict[str, str] = field(repr=False)  # in memory only unless written on purpose

    @property
    def changed(self) -> bool:
        return bool(self.mapping)


@dataclass
class RedactionReport:
    """Totals over a data set: ``report.add(example)`` per example, then ``report.to_dict()``."""

    counts: Counter = field(default_factory=Counter)
    examples_scanned: int = 0
    examples_changed: int = 0

    def add(self, example: RedactedExample) -> None:
        self.counts.update(example.counts)
        self.examples_scanned += 1
        self.examples_changed += example.changed

    def to_dict(self) -> dict:
        return {
            "examples_scanned": self.examples_scanned,
            "examples_changed": self.examples_changed,
            "counts": dict(sorted(self.counts.items())),
        }


class Redactor:
    """Detects the configured PII types and replaces them with numbered placeholders.

    Example: ``Redactor(RedactionConfig()).redact_text("Mail jo@example.org")`` gives
    ``"Mail <EMAIL_ADDRESS_1>"``.
    """

    def __init__(self, config: RedactionConfig | None = None) -> None:
        if config is not None and not isinstance(config, RedactionConfig):
            raise TypeError(f"config must be a RedactionConfig, got {type(config).__name__}")
        self.config = config or RedactionConfig()
        # Offline: tldextract (Presidio's e-mail check) uses its bundled suffix list instead
        # of fetching one. Heavy imports here: importing this module must not load spaCy.
        os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        with warnings.catch_warnings():
            # W095: the default en_core_web_md 3.7.1 was built with spaCy 3.7; measured on spaCy
            # 3.8 it gives the README's redaction figures, so the version warning is noise.
            warnings.filterwarnings("ignore", message=r"\[W095\]", category=UserWarning)
            nlp_engine = NlpEngineProvider(
                nlp_configuration={
                    "nlp_engine_name": "spacy",
                    "models": [{"lang_code": "en", "model_name": self.config.spacy_model}],
                    "ner_model_configuration": {
                        "model_to_presidio_entity_mapping": NER_MAPPING,
                        "labels_to_ignore": NER_IGNORED,
                    },
                }
            ).create_engine()
        registry = RecognizerRegistry()
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
        self._words, self._verbs = dictionary(nlp_engine.nlp["en"])
        for recognizer in recognizers(self.config, self._words):
            registry.add_recognizer(recognizer)
        custom = [c.entity for c in self.config.custom]
        self.entities = tuple(dict.fromkeys([*self.config.entities, *custom]))
        self._analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=nlp_engine,
            supported_languages=["en"],
            # Whole words: as a substring the card cue "cc" would match "account".
            context_aware_enhancer=LemmaContextAwareEnhancer(context_matching_mode="whole_word"),
        )

    def find_pii(self, text: str, keep: Sequence[str] = ()) -> list[Span]:
        """Detections above the score threshold, overlaps merged; placeholders are not PII, nor
        is anything inside an occurrence of a ``keep`` string (e.g. a document id).

        Example: ``redactor.find_pii("Hi <PERSON_1>, call 212-555-0101")`` finds only the phone.
        """
        return _resolve(_outside_kept(self._detect(text), text, keep), text)

    def redact_example(self, turns: list[str], keep: Sequence[str] = ()) -> RedactedExample:
        """Redact the turns of one example; the same value gets the same placeholder throughout.

        A value found in one turn is also replaced where the model missed it in another.
        Example: ``redactor.redact_example(["I'm Ann Lee", "Bye ann lee"]).turns`` is
        ``["I'm <PERSON_1>", "Bye <PERSON_1>"]``. Text inside an occurrence of a ``keep``
        string stays as it is: a prompt's document ids (``fool.com.txt`` reads as a URL) are
        names of files, and the model must see them as the server will show them.
        """
        if isinstance(turns, str) or not all(isinstance(t, str) for t in turns):
            raise TypeError("turns must be a list of strings")
        found = [self._detect(turn) for turn in turns]
        values = {
            (s.entity, s.text, s.score)
            for turn, spans in zip(turns, found)
            for s in _resolve(spans, turn)
            if len(s.text) > 2
        }
        for turn, spans in zip(turns, found):
            for entity, value, score in values:
                pattern = r"\s+".join(re.escape(word) for word in value.split())
                # Any case, except for a one-word value that is also a word ("May" / "may").
                word = " " not in value and is_word(value, self._words)
                flags = 0 if word else re.IGNORECASE
                for m in re.finditer(rf"(?<!\w){pattern}(?!\w)", turn, flags):
                    spans.append(Span(entity, m.start(), m.end(), score, m[0]))
        found = [_outside_kept(spans, turn, keep) for turn, spans in zip(turns, found)]
        pseudonyms = _Pseudonyms(turns)
        redacted = [pseudonyms.replace(turn, spans) for turn, spans in zip(turns, found)]
        # A placeholder changes what the model reads around it; scan changed turns again so
        # that find_pii on the result (the training gate) finds nothing left.
        previous = list(turns)
        for _ in range(2):
            changed = [i for i, (a, b) in enumerate(zip(previous, redacted)) if a != b]
            previous = list(redacted)
            for i in changed:
                again = _outside_kept(self._detect(redacted[i]), redacted[i], keep)
                redacted[i] = pseudonyms.replace(redacted[i], again)
        return RedactedExample(redacted, dict(pseudonyms.counts), pseudonyms.mapping)

    def redact_text(self, text: str) -> str:
        """One string, numbered on its own: ``redact_text("Ann Lee") == "<PERSON_1>"``."""
        return self.redact_example([text]).turns[0]

    def _detect(self, text: str) -> list[Span]:
        """Every detection of a configured type, before overlaps are merged."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text.strip():
            return []
        results = self._analyzer.analyze(
            text,
            language="en",
            entities=list(self.entities),
            score_threshold=self.config.score_threshold,
        )
        spans = [
            _without_verb(Span(r.entity_type, r.start, r.end, r.score, ""), text, self._verbs)
            for r in results
        ]
        spans += _more_names(spans, text, self._words) + _address_tails(spans, text)
        kept = []
        for span in spans:
            if span.entity in self.entities:
                for start, end in _outside_placeholders(text, span.start, span.end):
                    kept.append(Span(span.entity, start, end, span.score, text[start:end]))
        return kept


class _Pseudonyms:
    """Placeholder numbering for one example: per type, after any placeholders already there."""

    def __init__(self, turns: list[str]) -> None:
        self.numbers: Counter = Counter()
        for turn in turns:
            for match in PLACEHOLDER.finditer(turn):
                self.numbers[match[1]] = max(self.numbers[match[1]], int(match[2]))
        self.placeholders: dict[tuple[str, str], str] = {}
        self.mapping: dict[str, str] = {}
        self.counts: Counter = Counter()

    def replace(self, turn: str, spans: list[Span]) -> str:
        pieces, cursor = [], 0
        for span in _resolve(spans, turn):
            key = (span.entity, " ".join(span.text.split()).casefold())
            if key not in self.placeholders:
                self.numbers[span.entity] += 1
                self.placeholders[key] = f"<{span.entity}_{self.numbers[span.entity]}>"
                self.mapping[self.placeholders[key]] = span.text
            self.counts[span.entity] += 1
            pieces += [turn[cursor : span.start], self.placeholders[key]]
            cursor = span.end
        return "".join(pieces) + turn[cursor:]


def _outside_kept(spans: list[Span], text: str, keep: Sequence[str]) -> list[Span]:
    """The spans not inside an occurrence of a kept string."""
    kept = [
        (m.start(), m.end()) for value in keep if value for m in re.finditer(re.escape(value), text)
    ]
    return [s for s in spans if not any(a <= s.start and s.end <= b for a, b in kept)]


def _without_verb(span: Span, text: str, verbs: frozenset[str]) -> Span:
    """A name read with the imperative before it ("Call Ann at ...") loses the verb."""
    first = re.match(r"(\w+)[ \t]+(?=\w)", text[span.start : span.end])
    before = text[: span.start].rstrip(" \t")
    opens = not before or before[-1] in ".!?:\n"  # the span opens a sentence
    if span.entity == "PERSON" and first and first[1].lower() in verbs and opens:
        return Span(span.entity, span.start + first.end(), span.end, span.score, "")
    return span


_LIST_ITEM = rf"{NAME_WORD}(?:[ \t]{NAME_WORD})?"
_LIST = re.compile(rf"{_LIST_ITEM}(?:,[ \t]+{_LIST_ITEM})*,?[ \t]+(?:and|or|&)[ \t]+{_LIST_ITEM}")


def _more_names(spans: list[Span], text: str, words: frozenset[str]) -> list[Span]:
    """Mentions that a detected person implies, which the model alone tends to miss.

    Repeats: "Asya Godina ... Asya" hides both. Lists: in "Kónya, Becker and Vasquez" one
    detected person makes every member a person (coordinated names share a type).
    """
    people = [s for s in spans if s.entity == "PERSON"]
    found = []
    for match in _LIST.finditer(text):
        if any(s.start < match.end() and match.start() < s.end for s in people):
            for item in re.finditer(_LIST_ITEM, match[0]):
                start = match.start() + item.start()
                found.append(Span("PERSON", start, start + len(item[0]), 0.85, ""))
    names: dict[str, float] = {}
    for span in people + found:
        name = text[span.start : span.end]
        parts = [p for p in name.split() if len(p) > 2 and not is_word(p, words)]
        for part in [name, *parts]:
            names[part] = max(names.get(part, 0.0), span.score)
    for name, score in names.items():
        if name[:1].isupper():
            for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
                found.append(Span("PERSON", match.start(), match.end(), score, ""))
    return found


_SEGMENT = re.compile(r"[ \t]*(?:[\n,][^\w\n]{0,3}[ \t]*)+([^\n,]{1,40})")  # "> " quotes too
_ZIP = r"(?:\d{3,6}|\d{3}\s\d{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})"
_TAIL = re.compile(
    rf"(?:(?P<place>{PLACE}(?:\s\(\p{{Lu}}\p{{L}}+\))?)(?:\s+(?P<zip>{_ZIP}))?|(?P<zip2>{_ZIP}))"
    r"(?P<rest>(?:[.?!;]|\s+\p{Ll}).*)?"  # the sentence may go on: "Leeds for a week"
)


def _address_tails(spans: list[Span], text: str) -> list[Span]:
    """Town, region, country and postcode parts that follow a street address.

    "12 High St\\nLeeds\\nUnited Kingdom LS1 4AB": the town and the country become locations,
    the postcode joins the address type.
    """
    found = []
    for span in (s for s in spans if s.entity == "STREET_ADDRESS"):
        cursor = span.end
        for _ in range(4):
            segment = _SEGMENT.match(text, cursor)
            part = segment and _TAIL.fullmatch(segment[1].rstrip())
            if not part:
                break
            base = segment.start(1)
            for group, entity in (("place", "LOCATION"), ("zip", "STREET_ADDRESS")):
                for name in (group, "zip2") if group == "zip" else (group,):
                    if part[name]:
                        found.append(
                            Span(entity, base + part.start(name), base + part.end(name), 0.6, "")
                        )
            if part["rest"]:
                break
            cursor = segment.end(1)
    return found


def _resolve(spans: list[Span], text: str) -> list[Span]:
    """Merge overlapping detections into one span, named by the longest detection.

    On equal length a format type beats a language type (a URL read as a name is still a
    URL), then the higher score wins. Merging instead of dropping the loser leaks no fragment.
    """
    groups: list[list[Span]] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if groups and span.start < max(s.end for s in groups[-1]):
            groups[-1].append(span)
        else:
            groups.append([span])
    resolved = []
    for group in groups:
        winner = max(group, key=lambda s: (s.end - s.start, s.entity not in _FUZZY, s.score))
        start, end = min(s.start for s in group), max(s.end for s in group)
        resolved.append(Span(winner.entity, start, end, winner.score, text[start:end]))
    return resolved


def _outside_placeholders(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of [start, end) outside placeholders and slots that hold a letter or digit."""
    parts, cursor = [], start
    for match in _NOT_PII.finditer(text):
        if match.start() < end and match.end() > start:
            parts.append((cursor, max(cursor, match.start())))
            cursor = max(cursor, match.end())
    parts.append((cursor, end))
    kept = []
    for a, b in parts:
        piece = text[a:b]
        if any(ch.isalnum() for ch in piece):
            a += len(piece) - len(piece.lstrip(" \t\n,;:-"))
            b -= len(piece) - len(piece.rstrip(" \t\n,;:-"))
            kept.append((a, b))
    return kept


def write_mapping(path: Path, mappings: Sequence[Mapping[str, str]]) -> None:
    """Write each example's placeholder -> original map as JSON, readable by the owner only.

    Only for ``RedactionConfig.reversible``. The file is created 0600 (never readable by
    others, even briefly) and moved into place atomically.
    Example: ``write_mapping(Path("train.map.json"), [ex.mapping for ex in redacted])``.
    """
    path = Path(path)
    body = json.dumps([dict(m) for m in mappings], ensure_ascii=False, indent=1)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a umask only removes bits; make the mode exact anyway
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
