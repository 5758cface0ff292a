"""Tables' rows become lines that name their columns (Markdown, text and HTML documents)."""

from __future__ import annotations

from hybrid.answer import evidence, sentences
from hybrid.config import IngestConfig
from hybrid.knowledge import tables
from hybrid.knowledge.loaders import load_bytes
from hybrid.knowledge.search import SearchResult

PRICES_MD = (
    "## Plans and prices\n\n"
    "Prices include tax.\n\n"
    "| Plan | Monthly fee | Scooter riding |\n"
    "|:---|---:|:-:|\n"
    "| Pay As You Go | none | $0.35 per minute |\n"
    "| Velloway Plus | $14.99 | $0.25 per minute |\n"
    "| Student \\| Youth |  | $0.20 per minute. |\n"
    "\n"
    "Plans renew each month.\n"
)

PRICES_HTML = (
    "<html><body><h2>Plans</h2><table><caption>Our plans</caption>"
    "<thead><tr><th>Plan</th><th>Price</th><th>Billed</th></tr></thead>"
    "<tbody><tr><td>Annual</td><td>$240 per year</td><td>once a year</td></tr>"
    "<tr><td>Team</td><td>$18 per learner</td><td>every month, minimum 5 learners</td></tr>"
    "</tbody></table><p>Students get 40% off.</p></body></html>"
)


def test_markdown_rows_name_their_columns_and_the_rest_is_untouched():
    text = load_bytes(PRICES_MD.encode(), "prices.md", IngestConfig()).text
    assert text == (
        "## Plans and prices\n\n"
        "Prices include tax.\n\n"
        "Plan: Pay As You Go, Monthly fee: none, Scooter riding: $0.35 per minute.\n"
        "Plan: Velloway Plus, Monthly fee: $14.99, Scooter riding: $0.25 per minute.\n"
        # An escaped pipe stays in its cell; an empty cell is left out; no double stop.
        "Plan: Student | Youth, Scooter riding: $0.20 per minute.\n"
        "\n"
        "Plans renew each month.\n"
    )
    # Headings are found in the rewritten text, where the chunker looks for them.
    doc = load_bytes(PRICES_MD.encode(), "prices.md", IngestConfig())
    assert [h for _, h in doc.headings] == ["Plans and prices"]


def test_pipe_tables_in_text_files_too_but_not_pipes_that_are_no_table():
    assert tables.markdown("| Day | Hours |\n| --- | --- |\n| Sat | 9-13 |\n") == (
        "Day: Sat, Hours: 9-13.\n"
    )
    untouched = [
        "a | b\nno delimiter row below\n",
        "| a | b |\n|---|\n| 1 | 2 |\n",  # the delimiter row has another number of cells
        "```\n| a | b |\n|---|---|\n| 1 | 2 |\n```\n",  # a table shown as code
        "Shipping | Returns\n---\n",  # a heading underline, no cells
    ]
    for text in untouched:
        assert tables.markdown(text) == text
    # Windows line ends: the rows are found and the lines around them kept.
    assert tables.markdown("Hours:\r\n\r\n| Day | Hours |\r\n|---|---|\r\n| Sat | 9-13 |\r\n") == (
        "Hours:\n\nDay: Sat, Hours: 9-13.\n"
    )
    doc = load_bytes(b"| Day | Hours |\n|---|---|\n| Sun | Closed |\n", "hours.txt", IngestConfig())
    assert doc.text == "Day: Sun, Hours: Closed.\n"


def test_html_tables_become_one_line_per_row_under_their_header():
    doc = load_bytes(PRICES_HTML.encode(), "plans.html", IngestConfig())
    assert doc.text.split("\n\n") == [
        "Plans",
        "Our plans",
        "Plan: Annual, Price: $240 per year, Billed: once a year.",
        "Plan: Team, Price: $18 per learner, Billed: every month, minimum 5 learners.",
        "Students get 40% off.",
    ]
    # No header row (no <th>, no <thead>): the cells are listed; a header row alone too.
    plain = "<table><tr><td>Monday</td><td>9-17</td></tr></table>"
    assert load_bytes(plain.encode(), "a.html", IngestConfig()).text == "Monday, 9-17."
    alone = "<table><tr><th>Plan</th><th>Price</th></tr></table>"
    assert load_bytes(alone.encode(), "b.html", IngestConfig()).text == "Plan, Price."


def test_a_cell_spanning_columns_stands_under_each_header():
    spans = (
        "<table><tr><th>Plan</th><th>Monthly</th><th>Yearly</th></tr>"
        "<tr><td>Basic</td><td colspan='2'>free</td></tr></table>"
    )
    text = load_bytes(spans.encode(), "s.html", IngestConfig()).text
    assert text == "Plan: Basic, Monthly: free, Yearly: free."


def test_tables_that_lay_out_prose_stay_paragraphs():
    long_cell = " ".join(["word"] * 70) + "."
    pages = [
        "<table><tr><td>Welcome to our shop.</td></tr><tr><td>We ship daily.</td></tr></table>",
        f"<table><tr><td>Returns</td><td>{long_cell}</td></tr></table>",
        "<table><tr><td><p>Returns are free.</p><p>Refunds take 5 days.</p></td>"
        "<td>Sidebar</td></tr></table>",
    ]
    expected = [
        ["Welcome to our shop.", "We ship daily."],  # one column: a page in a box
        ["Returns", long_cell],
        ["Returns are free.", "Refunds take 5 days.", "Sidebar"],
    ]
    for page, paragraphs in zip(pages, expected, strict=True):
        assert load_bytes(page.encode(), "p.html", IngestConfig()).text.split("\n\n") == paragraphs


def test_a_layout_table_holding_tables_keeps_its_text_and_the_inner_table_is_read():
    page = (
        "<table><tr><td><p>Welcome to our shop.</p>"
        "<table><tr><th>Size</th><th>Price</th></tr><tr><td>Small</td><td>$5</td></tr></table>"
        "</td></tr></table>"
    )
    text = load_bytes(page.encode(), "layout.html", IngestConfig()).text
    assert text.split("\n\n") == ["Welcome to our shop.", "Size: Small, Price: $5."]


def test_a_row_is_one_evidence_sentence_that_answers_a_question_about_it(embedder):
    text = load_bytes(PRICES_HTML.encode(), "plans.html", IngestConfig()).text
    chunk = SearchResult(1, 0.5, "c1", "plans.html", text, None, None, "Plans", 0, len(text))
    pieces = [p.text for p in sentences.split(chunk)]
    assert "Plan: Annual, Price: $240 per year, Billed: once a year." in pieces
    question = "How much is the annual plan?"
    ranked = evidence.select(
        question, embedder.embed_query(question), [chunk], embedder.embed, 2, 0.3
    )
    assert ranked[0].sentence.text.startswith("Plan: Annual, Price: $240 per year")
