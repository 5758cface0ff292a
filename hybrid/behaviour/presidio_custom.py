"""Presidio recogniser classes of our own (imported only when redaction runs: Presidio is heavy)."""

from __future__ import annotations

import regex as re  # Presidio's regex engine: \p{Lu}
from presidio_analyzer import LocalRecognizer, PatternRecognizer, RecognizerResult

from hybrid.behaviour.words import NOT_NAMES, is_word


class DigitCount(PatternRecognizer):
    """A pattern recogniser whose matches must hold ``low`` to ``high`` digits."""

    def __init__(self, low: int, high: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def invalidate_result(self, pattern_text: str) -> bool:
        return not self.low <= sum(ch.isdigit() for ch in pattern_text) <= self.high


class ProperNameRuns(LocalRecognizer):
    """Two or three title-case proper nouns in a row, untagged or tagged as organisation.

    The small English model reads unfamiliar (often non-English) names as ORG; a run with
    no organisation word in it ("Sigrid Nyström", not "Rapid Cycle Solutions") is more
    likely a person.
    """

    def __init__(self, words: frozenset[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.words = words

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list, nlp_artifacts=None) -> list:
        doc = getattr(nlp_artifacts, "tokens", None)
        if doc is None:
            return []
        tagged = {i for e in doc.ents if e.label_ != "ORG" for i in range(e.start, e.end)}
        results, run = [], []
        for token in [*doc, None]:
            if (
                token is not None
                and token.i not in tagged
                and token.pos_ == "PROPN"
                and not token.is_stop
                and token.lower_ not in NOT_NAMES
                and re.fullmatch(r"\p{Lu}\p{Ll}+", token.text)
                and (not run or (token.i == run[-1].i + 1 and run[-1].whitespace_))
            ):
                run.append(token)
                continue
            end = run[-1].idx + len(run[-1]) if run else 0
            # Not "Order Details" (all dictionary words) nor "Personal Info:" (a label).
            known = all(is_word(t.text, self.words) for t in run)
            if 2 <= len(run) <= 3 and not known and not text.startswith(":", end):
                results.append(RecognizerResult("PERSON", run[0].idx, end, 0.4))
            run = []
        return results
