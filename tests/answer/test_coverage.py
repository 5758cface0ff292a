"""Coverage of a question's words by a sentence (the refusal check), with the real MiniLM."""

from __future__ import annotations

import numpy as np

from hybrid.answer.coverage import WordVectors, content_words, coverage, on_topic


def test_content_words_leave_out_what_asks():
    assert content_words("How much is the Orbit 50 plan, and can I pay monthly?") == [
        "orbit", "50", "plan", "pay", "monthly",
    ]  # fmt: skip
    assert content_words("What is it?") == []
    # "How long" asks for a span; "long" in a statement is a word like any other.
    assert content_words("How long is a crown guaranteed?") == ["crown", "guaranteed"]
    assert content_words("A long cable is included.") == ["long", "cable", "included"]
    assert content_words("How long-term is the lease?") == ["long-term", "lease"]


def test_a_sentence_that_answers_covers_the_question_and_an_unrelated_one_does_not(embedder):
    vectors = WordVectors(embedder.embed)
    answers = coverage(
        "How much is Orbitly's Orbit 50 plan each month?",
        "Orbit 50 costs $30 per month and includes 50 GB of data.",
        vectors,
        ["orbitly-mobile-billing.pdf"],
    )
    unrelated = coverage(
        "Is there Wi-Fi at Meadowbrook Holiday Park?",
        "We are a family-run park with tent pitches, glamping pods and woodland cabins.",
        vectors,
        ["meadowbrook-holiday-park.md"],
    )
    assert answers > 0.75 > 0.4 > unrelated  # verify.refusal_coverage sits between them
    assert coverage("What is it?", "Orbit 50 costs $30.", vectors) == 0.0


def test_word_vectors_are_computed_once_and_the_cache_is_bounded():
    calls: list[list[str]] = []

    def embed(words: list[str]) -> np.ndarray:
        calls.append(words)
        return np.eye(8, dtype=np.float32)[[len(w) for w in words]]

    vectors = WordVectors(embed, max_words=2)
    assert vectors.of(["a", "bb", "a"]).shape == (3, 8)
    vectors.of(["bb"])
    assert calls == [["a", "bb"]]  # "a" once, "bb" from the cache
    vectors.of(["ccc"])  # the least recently used ("a") goes
    vectors.of(["a"])
    assert calls == [["a", "bb"], ["ccc"], ["a"]]


def test_an_answer_about_something_else_gives_way_to_sentence_1_or_to_the_refusal(embedder):
    def topic(answer: str, first: str) -> str:
        asked = embedder.embed_query("Can I freeze my gym membership while I travel?")[0]
        said, one = embedder.embed([answer, first])
        return on_topic(asked, said, one, 0.43)

    freeze = "You can freeze your membership for up to 3 months a year."  # cosine 0.58
    towels = "Towels can be rented at the front desk for $2."  # 0.21
    fees = "Membership fees are collected on the first day of each month."  # 0.26: same words
    assert topic(freeze, towels) == "answer"
    assert topic(towels, freeze) == "first"
    assert topic(fees, towels) == "refuse"
