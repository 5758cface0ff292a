"""The evidence eval: the route's ranking on a 3-document corpus with the real embedder (no
model is loaded: nothing is generated), and its scoring on hand-made rankings."""

from __future__ import annotations

import json

import pytest

from hybrid.datasets.qa_sets import QA, read_kb
from hybrid.evals.evidence import Ranked, changes, rank_all, score, write_rows
from tests.conftest import make_config
from tests.evals.test_answers import QUESTIONS, write_questions

RETURNS = QA("How long do I have to return a sale item?", ("14 days",), ("refunds.md",))
DELIVERY = QA("How long does delivery take?", ("3-5 business days",), ("shipping.txt",))
PAINTER = QA("Who painted the Mona Lisa?", (), ())


def test_the_route_ranks_the_sentence_with_the_answer_first(tmp_path, embedder, docs_folder):
    config = make_config(tmp_path)
    qa_set = read_kb(docs_folder, write_questions(tmp_path / "q.jsonl", QUESTIONS))
    ranked = rank_all(qa_set, config, embedder, "support", progress=False)
    sale, delivery, painter = ranked
    assert sale.rank == 1 and sale.texts[0] == "Sale items can be returned within 14 days."
    assert delivery.rank == 1 and not delivery.refused
    assert painter.refused and painter.rank is None  # nothing about paintings: no generation
    result = score(ranked, {"set": qa_set.name})
    assert (result.first, result.shown, result.mrr) == (1.0, 1.0, 1.0)
    assert (result.refused_answerable, result.refused_unanswerable) == (0.0, 1.0)
    with pytest.raises(ValueError, match="--route: unknown route 'nope'"):
        rank_all(qa_set, config, embedder, "nope", progress=False)


def test_rank_is_the_first_sentence_holding_a_gold_answer():
    texts = ("Refunds take 5 days.", "Sale items: within 14 days [2].", "14 days, again.")
    assert Ranked(RETURNS, texts, False, ()).rank == 2
    assert Ranked(RETURNS, texts[:1], False, ()).rank is None
    assert Ranked(PAINTER, texts, False, ()).rank is None  # no gold answer: nothing to hold


def test_scores_count_refusals_before_generation_as_misses():
    ranked = [
        Ranked(RETURNS, ("Sale items can be returned within 14 days.",), False, ()),
        Ranked(DELIVERY, ("Express is next day.", "Delivery takes 3-5 business days."), False, ()),
        Ranked(DELIVERY, ("Delivery takes 3-5 business days.",), True, ("courier",)),
        Ranked(DELIVERY, ("Express is next day.",), False, ()),
        Ranked(PAINTER, ("Refunds take 5 days.",), True, ("painter",)),
        Ranked(PAINTER, ("Refunds take 5 days.",), False, ()),
    ]
    result = score(ranked, {})
    assert (result.n, result.answerable, result.unanswerable) == (6, 4, 2)
    assert result.first == 0.25  # the refused one held it at [1], but nobody reads it
    assert result.shown == 0.5
    assert result.mrr == pytest.approx((1 + 0.5) / 4, abs=1e-4)
    assert (result.refused_answerable, result.refused_unanswerable) == (0.25, 0.5)
    assert score(ranked[4:], {}).first is None  # no answerable question: nothing measured


def test_changes_list_what_gained_and_lost_its_first_place(tmp_path):
    before = [
        Ranked(RETURNS, ("Refunds take 5 days.", "Sale items: 14 days."), False, ()),
        Ranked(DELIVERY, ("Delivery takes 3-5 business days.",), False, ()),
        Ranked(PAINTER, ("Refunds take 5 days.",), True, ()),
    ]
    rows = write_rows(before, tmp_path / "new" / "before.rows.jsonl")  # the folder is made
    assert json.loads(rows.read_text().splitlines()[0])["rank"] == 2
    after = [
        Ranked(RETURNS, ("Sale items: 14 days.",), False, ()),
        Ranked(DELIVERY, ("Delivery takes 3-5 business days.",), True, ("courier",)),
        Ranked(PAINTER, ("Refunds take 5 days.",), False, ()),
    ]
    assert changes(after, rows) == ([RETURNS.question], [DELIVERY.question])
    assert changes(before, rows) == ([], [])
    # The same words asked of another document are another question (PolicyQA repeats them).
    elsewhere = QA(DELIVERY.question, ("2 days",), ("express.md",))
    twice = [*before, Ranked(elsewhere, ("Express takes 2 days.",), False, ())]
    rows = write_rows(twice, tmp_path / "twice.rows.jsonl")
    moved = [before[0], before[1], Ranked(elsewhere, ("Standard: 3 days.",), False, ())]
    assert changes(moved, rows) == ([], [DELIVERY.question])
    assert changes([*moved[:2], twice[-1]], rows) == ([], [])
    rows = tmp_path / "new" / "before.rows.jsonl"
    rows.write_text(rows.read_text() + "{not json\n")
    with pytest.raises(ValueError, match=r"before\.rows\.jsonl:4: not a rows line"):
        changes(after, rows)
