"""Amending a checked answer: a slipped copy mended to its source sentence, a tie given whole."""

from __future__ import annotations

from hybrid.answer.amend import mended, tied
from hybrid.answer.citations import Check, parse
from hybrid.answer.types import Composition, Source
from hybrid.config.routes import GenerationSettings
from hybrid.knowledge.search import SearchResult

ROW = "Van class: C, Daily rate: £79, Weekly rate: £469."


def _source(text: str) -> SearchResult:
    return SearchResult(1, 1.0, "c1", "vans.md", text, None, None, "", 0, len(text))


def _check(sentence: str, label: str, source: str | None) -> Check:
    evidence = _source(source) if source else None
    return Check(sentence, 1, label, evidence, 0.5, "", "model", 1 if source else 0)


def test_a_copy_with_a_slipped_figure_becomes_its_source_sentence():
    # The answerer copied the row and slipped the weekly rate: £379 for £469.
    parsed = parse("Van class: C, Daily rate: £79, Weekly rate: £379. [1]", 1)
    slipped = parsed.sentences[0].text
    out = mended(parsed, [_check(slipped, "contradicted", ROW)], 0.9, 1)
    assert out is not None
    assert out.text == f"{ROW} [1]"
    assert out.sentences[0].cited == (1,)


def test_verified_sentences_and_loose_paraphrases_are_left_alone():
    right = parse(f"{ROW} [1]", 1)
    assert mended(right, [_check(ROW, "quoted", ROW)], 0.9, 1) is None
    # Far from a copy (ratio well under 0.9): a wrong claim is not rewritten into the source.
    loose = parse("Class C vans cost less than £100 a week. [1]", 1)
    text = loose.sentences[0].text
    assert mended(loose, [_check(text, "unsupported", ROW)], 0.9, 1) is None
    # No aligned source sentence: nothing to mend with.
    assert mended(loose, [_check(text, "unsupported", None)], 0.9, 1) is None


BANDS = [
    "Class D, length 11.01 m to 13 m: £3,480 a year.",
    "Class B, length 7.01 m to 9 m: £2,360 a year.",
]


def _tie(question: str, scores: tuple[float, float]) -> Composition:
    sources = tuple(
        Source(n, "docs", SearchResult(n, score, f"c{n}", "berths.md", text, None, None, "", 0, 1))
        for n, (text, score) in enumerate(zip(BANDS, scores), start=1)
    )
    return Composition(
        "support", [], sources, 2, 0, False, 0.8, GenerationSettings(), None, 0, question=question
    )


def test_a_tie_adds_the_other_sentence_unless_the_askers_figure_tells_them_apart():
    quoted = [Check(BANDS[0], 1, "quoted", None, 0.9, "", "model", 1)]
    # Two rows that state a price and score alike: the answer gets both.
    assert tied(_tie("How much is a year's berth?", (1.0, 0.98)), quoted, 0.1) == 2
    assert tied(_tie("How much is a year's berth?", (1.0, 0.8)), quoted, 0.1) is None  # apart
    # A 12 m boat is in the quoted band and not the other: nothing to add.
    assert (
        tied(_tie("How much is a year's berth for my 12 m boat?", (1.0, 0.98)), quoted, 0.1) is None
    )
    # An 8.5 m boat is in the other band: the ranking erred, the answer gets both.
    assert (
        tied(_tie("How much is a year's berth for my 8.5 m boat?", (1.0, 0.98)), quoted, 0.1) == 2
    )
