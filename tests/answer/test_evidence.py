"""Evidence sentences: selection ranks by the question; leads need its distinctive words."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.answer import evidence
from hybrid.knowledge.lexical import tokenize
from tests.answer.test_sentences import DOC, chunk


def test_a_joined_piece_scores_as_its_better_half(embedder):
    text = (
        "If you end a trip outside a parking zone, we charge a relocation fee of $25. This fee "
        "is doubled if the vehicle blocks a footpath, a ramp or a doorway."
    )
    question = "What is the relocation fee for ending a trip outside a parking zone?"
    vector = embedder.embed_query(question)
    [joined] = evidence.select(
        question, vector, [chunk(text)], embedder.embed, 3, 0.3, anaphora=True
    )
    first = "If you end a trip outside a parking zone, we charge a relocation fee of $25."
    [alone] = evidence.select(question, vector, [chunk(first)], embedder.embed, 3, 0.3)
    whole, half = embedder.embed([text, first]) @ vector.reshape(-1)
    assert whole < half - 0.02  # the second sentence dilutes the match
    assert joined.sentence.text == text  # shown whole ...
    assert joined.score == pytest.approx(alone.score, abs=2e-3)  # ... scored as its first half
    assert float(joined.vector @ vector.reshape(-1)) == pytest.approx(half, abs=2e-3)


def test_select_ranks_by_the_question_and_drops_repeats(embedder):
    first = chunk(DOC)
    overlap = chunk("Sale items are refunded at the price you paid, e.g. 5.95 EUR.", 160)
    question = "At what price are sale items refunded?"
    chosen = evidence.select(
        question, embedder.embed_query(question), [first, overlap], embedder.embed, 3, 0.3
    )
    assert len(chosen) == 3
    assert chosen[0].sentence.text.startswith("Sale items are refunded")
    assert len({c.sentence.text for c in chosen}) == 3  # the overlapping chunk's copy is dropped
    assert chosen[0].score >= chosen[1].score >= chosen[2].score
    assert chosen[0].vector.shape == (embedder.dimension,)
    assert evidence.select(question, embedder.embed_query(question), [], embedder.embed, 3, 0) == []


def _scored(texts: list[str]) -> list[evidence.Scored]:
    words = tokenize(texts)
    return [
        evidence.Scored(chunk(t), np.zeros(3), 1.0 - i / 10, frozenset(w))
        for i, (t, w) in enumerate(zip(texts, words))
    ]


CONTRACT = [
    "The parties agree to modify the Agreement as follows.",
    "This Agreement shall be governed by the laws of the State of Nevada.",
    "This Agreement may be executed in counterparts, each an original of this Agreement.",
    "Notices under this Agreement are given in writing to the addresses above.",
    "The Licensee pays the royalties under this Agreement each quarter.",
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # "agreement" is in every sentence and asks nothing; "govern" and "law" pick the clause.
        ("Which law governs the agreement?", [1]),
        ("Summarise which law governs the agreement and where disputes are resolved.", [1]),
        ("Summarise the royalties.", [4]),  # one distinctive word: enough when it is the only one
        ("Where are disputes resolved under the agreement?", []),  # nothing says it: no lead
        ("Summarise the agreement.", []),  # nothing distinctive to look for
    ],
)
def test_leads_need_the_questions_distinctive_words(question, expected):
    assert evidence.leads(question, _scored(CONTRACT), 2) == expected


def test_leads_keep_rank_order_and_stop_at_n():
    ranked = _scored([CONTRACT[1], "Nevada law governs any dispute.", *CONTRACT[2:], CONTRACT[0]])
    assert evidence.leads("Which law governs the agreement?", ranked, 1) == [0]
    assert evidence.leads("Which law governs the agreement?", ranked, 5) == [0, 1]
    assert evidence.leads("Which law governs the agreement?", [], 1) == []


def test_a_word_few_candidates_hold_weighs_more_in_the_overlap():
    # "support" and "customers" are in every candidate: they tell none apart; "basic" does.
    found = [{"basic", "custom", "support"}, {"busi", "custom", "support"}, {"custom", "support"}]
    shares = evidence._overlap({"basic", "custom", "support"}, found, 3)
    assert shares[0] == pytest.approx(1.0)
    assert shares[1] == shares[2] == pytest.approx(0.54, abs=0.01)  # a plain share: 2/3
    assert evidence._overlap(set(), found, 3) == [0.0, 0.0, 0.0]
