"""The prompt shows each evidence sentence as the answerer was trained to read it."""

from __future__ import annotations

from pathlib import Path

from hybrid.answer.prompt import load_template, render
from hybrid.answer.types import Hit
from hybrid.config import RouteConfig
from hybrid.knowledge.search import SearchResult


def sentence(text: str, page: int) -> SearchResult:
    return SearchResult(1, 0.5, "c1", "warranty.pdf", text, page, page, "", 0, len(text))


def test_a_section_title_is_shown_before_its_first_sentence_only():
    route = RouteConfig()
    hits = [
        Hit("kb", sentence("Extended Care adds 3 years of cover.", 2), None, "8. Extended Care"),
        Hit("kb", sentence("It costs $29 per appliance.", 2), None),
    ]
    template = load_template(Path("prompts/evidence_answer.j2"))
    content = render(route, template, [], "How much is Extended Care?", hits)[-1]["content"]
    assert "[1] 8. Extended Care Extended Care adds 3 years of cover. (warranty.pdf, page 2)" in (
        content
    )
    assert "[2] It costs $29 per appliance. (warranty.pdf, page 2)" in content
    assert hits[0].chunk.text == "Extended Care adds 3 years of cover."  # the source itself


def test_a_wrapped_lines_indent_is_one_space_in_the_prompt():
    # "credit of\n    25%" joined keeps its indent (offsets index the document); shown, it is one
    # space, and an indent that opens a line stays.
    hit = Hit("kb", sentence("You receive a credit of     25% of the monthly fee.", 1), None)
    template = load_template(Path("prompts/evidence_answer.j2"))
    content = render(RouteConfig(), template, [], "What credit?", [hit])[-1]["content"]
    assert "[1] You receive a credit of 25% of the monthly fee. (warranty.pdf" in content
    assert hit.chunk.text == "You receive a credit of     25% of the monthly fee."
