"""Answer metrics on hand-made strings."""

from __future__ import annotations

import pytest

from hybrid.evals import metrics

INSTRUCTIONS = (
    "Question: \n\nAnswer in one or two sentences using only the numbered sentences above, and "
    "cite each one you use, for example [1]."
)


def test_token_f1_recall_and_fact_match():
    gold = ["14 days from delivery", "two weeks"]
    assert metrics.token_f1("14 days from delivery [2].", gold) == 1.0
    assert metrics.token_f1("The answer is 14 days.", gold) == pytest.approx(2 * 0.5 * 0.5)
    assert metrics.token_f1("Nothing relevant.", gold) == 0.0
    assert metrics.token_f1("anything", []) == 0.0
    assert metrics.answer_recall("Sale items: 14 days [1].", gold) == 0.5
    assert metrics.answer_recall("Within two weeks.", gold) == 1.0
    assert metrics.fact_match("You have 14 days from delivery [1].", gold)
    assert metrics.fact_match("Within Two Weeks!", gold)
    assert not metrics.fact_match("114 days from delivery", gold)  # whole words only
    assert metrics.normalise("The  Refund, [1] an item.") == "refund item"


def test_echo_and_loop():
    assert metrics.is_echo("Question: how long? Answer: 14 days", INSTRUCTIONS)
    assert metrics.is_echo(
        "14 days. Answer in one or two sentences using only the numbered sentences", INSTRUCTIONS
    )
    assert not metrics.is_echo("Sale items can be returned within 14 days [1].", INSTRUCTIONS)
    looped = "A fleet account needs twelve bicycles. " * 3
    assert metrics.is_loop(looped)
    assert metrics.is_loop("we keep we keep data and we keep data and we keep data")
    assert not metrics.is_loop("Refunds take 5 days [1]. Sale items take 14 days [2].")
