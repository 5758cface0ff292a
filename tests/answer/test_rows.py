"""Quoted table rows cut to the asked cell (answer/rows.py), with the real embedder."""

import pytest

from hybrid.answer.rows import asked_cell, cells, trim

VANS = (
    "Van class: C - Long wheelbase, Load space: 11 m3, Daily rate: £79, Weekly rate: £469, "
    "Free miles per day: 120 miles, Deposit: £400."
)
DESK = (
    "Plan: Flex Desk, Price: CHF 260 per month, Access hours: 08:00–20:00, Mon–Fri, "
    "Meeting room credit: 4 hours per month, Notice to cancel: 1 calendar month."
)


def test_a_row_sentence_splits_into_its_cells_and_prose_does_not():
    assert cells(DESK) == [
        "Plan: Flex Desk",
        "Price: CHF 260 per month",
        "Access hours: 08:00–20:00, Mon–Fri",  # a comma inside a value stays
        "Meeting room credit: 4 hours per month",
        "Notice to cancel: 1 calendar month",
    ]
    assert cells("Plan: Plus, Price: $9.") is None  # two cells: a label, not a row
    assert cells("Refunds take 5 days, and exchanges: 10 days, or more.") is None


@pytest.mark.parametrize(
    ("question", "row", "expected"),
    [
        ("What's the daily price for a long wheelbase van?", VANS, "Daily rate: £79"),
        ("How much would a medium van cost me for a full week?", VANS, "Weekly rate: £469"),
        ("How much will they block on my card as a deposit?", VANS, "Deposit: £400"),
        ("How many free miles do I get each day?", VANS, "Free miles per day: 120 miles"),
        ("How much is a Flex Desk each month?", DESK, "Price: CHF 260 per month"),
        ("How many hours of meeting rooms come with it?", DESK, "Meeting room credit: 4 hours"),
        ("How much notice do I need to give to cancel?", DESK, "Notice to cancel: 1 calendar"),
    ],
)
def test_the_asked_cell_goes_with_the_rows_first(embedder, question, row, expected):
    out = trim(question, row, embedder.embed_query(question), embedder.embed)
    first = row.split(",")[0]
    assert out.startswith(f"{first}, {expected}") and out.endswith(".")
    assert out.count(":") == 2  # the two cells alone


def test_a_question_about_no_cell_in_particular_keeps_the_row(embedder):
    asked = "What does the Flex Desk plan include?"
    assert asked_cell(asked, cells(DESK), embedder.embed_query(asked), embedder.embed) is None
    assert trim(asked, DESK, embedder.embed_query(asked), embedder.embed) == DESK
    prose = "Refunds take 5 days."
    assert trim("How long do refunds take?", prose, embedder.embed_query("x"), embedder.embed) == (
        prose
    )
