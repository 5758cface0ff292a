"""Amending a checked answer: a slipped copy mended to its source sentence."""

from __future__ import annotations

from hybrid.answer.amend import mended
from hybrid.answer.citations import Check, parse
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
