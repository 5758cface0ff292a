import json
import random

import faiss
import pytest

from hybrid.behaviour.data import Example, Message
from hybrid.behaviour.splits import (
    assign_split,
    duplicate_key,
    normalise,
    remove_leaks,
    split_examples,
    user_text,
)
from hybrid.config import SplitConfig

TOPICS = [
    "reset my password",
    "cancel my order",
    "track my parcel",
    "change my shipping address",
    "update my payment method",
    "delete my account",
    "download my invoice",
    "talk to a human agent",
    "return a damaged item",
    "unsubscribe from the newsletter",
    "apply a discount code",
    "change my email address",
]
PHRASINGS = ["How do I {}?", "how can I {}", "Please tell me how to {}.", "I need to {} now"]


def _example(user: str, assistant: str = "Happy to help.", source: str = "") -> Example:
    messages = (Message("user", user), Message("assistant", assistant))
    return Example(messages, source=source or user)


def _numbered(n: int) -> list[Example]:
    return [_example(f"question {i}", f"answer {i}", f"data.csv:{i + 2}") for i in range(n)]


def _sources(examples: list[Example]) -> list[str]:
    return [e.source for e in examples]


def test_normalise_and_duplicate_key_ignore_case_spacing_punctuation_and_system():
    assert normalise("  Where's   my ORDER?!\n") == "wheres my order"
    with_system = Example((Message("system", "Be brief."), *_example("Hi!", "Hello.").messages))
    assert duplicate_key(with_system) == duplicate_key(_example("hi", "HELLO"))
    assert duplicate_key(_example("hi", "hello")) != duplicate_key(_example("hi", "bye"))


def test_split_is_deterministic_disjoint_and_independent_of_order():
    examples = _numbered(500)
    config = SplitConfig(validation=0.2, test=0.1, seed=7)
    first = split_examples(examples, config)
    shuffled = examples[:]
    random.Random(1).shuffle(shuffled)
    again = split_examples(shuffled, config)
    for name in ("train", "validation", "test"):
        assert sorted(_sources(getattr(first, name))) == sorted(_sources(getattr(again, name)))
    parts = [set(_sources(getattr(first, name))) for name in ("train", "validation", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(parts[0] | parts[1] | parts[2]) == 500
    assert _sources(first.train) == sorted(_sources(first.train), key=_sources(examples).index)
    other_seed = split_examples(examples, SplitConfig(validation=0.2, test=0.1, seed=8))
    assert set(_sources(other_seed.test)) != parts[2]


def test_fractions_roughly_respected():
    result = split_examples(_numbered(3000), SplitConfig(validation=0.15, test=0.1))
    assert abs(len(result.validation) / 3000 - 0.15) < 0.025
    assert abs(len(result.test) / 3000 - 0.1) < 0.025
    assert result.leak_report["sizes_after"]["train"] == len(result.train)
    assert split_examples(_numbered(200), SplitConfig(validation=0, test=0)).train == _numbered(200)


def test_repeats_of_a_question_share_a_split():
    config = SplitConfig(validation=0.3, test=0.3)
    variants = [
        _example(f"Where is order {i}?", f"answer {j}") for i in range(50) for j in range(3)
    ]
    by_question: dict[str, set[str]] = {}
    for example in variants:
        key = normalise(user_text(example))
        by_question.setdefault(key, set()).add(assign_split(example, config))
    assert all(len(splits) == 1 for splits in by_question.values())
    shouting = _example("WHERE IS ORDER 1", "other answer")
    assert assign_split(shouting, config) == assign_split(variants[3], config)


def test_exact_leak_removed_and_reported_without_embedder():
    held = _example("Where is my order?", "It ships today.", "test.jsonl:1")
    leak = _example("where is my  ORDER", "it ships today", "train.jsonl:4")
    other = _example("Do you ship abroad?", "Yes, to 30 countries.", "train.jsonl:5")
    again = _example("Do you ship abroad?!", "yes to 30 countries", "train.jsonl:6")
    kept, report = remove_leaks([leak, other, again], [], [held], SplitConfig(), None)
    assert kept == [other, again]
    assert report["exact_leaks_removed"] == 1 and report["near_leaks_removed"] == 0
    assert report["train_duplicates"] == 1 and report["near_checked"] is False
    pair = report["exact_pairs"][0]
    assert (pair["train"], pair["held_out"], pair["held_out_split"]) == (
        "train.jsonl:4",
        "test.jsonl:1",
        "test",
    )
    assert report["sizes_before"]["train"] == 3 and report["sizes_after"]["train"] == 2


@pytest.mark.integration
def test_exact_and_near_leaks_removed_and_reported(embedder):
    validation = [_example("How do I reset my password?", "Use the link.", "val:1")]
    test = [_example("Can I get a refund for a damaged item?", "Yes.", "test:1")]
    paraphrase = _example("how can I reset my password", "Click 'forgot password'.", "train:1")
    exact = _example("can i get a REFUND for a damaged item", "yes", "train:2")
    unrelated = _example("What are your opening hours on Sunday?", "10 to 4.", "train:3")
    kept, report = remove_leaks(
        [paraphrase, exact, unrelated], validation, test, SplitConfig(), embedder
    )
    assert kept == [unrelated]
    assert report["exact_leaks_removed"] == 1 and report["near_leaks_removed"] == 1
    near = report["near_pairs"][0]
    assert (near["train"], near["held_out"], near["held_out_split"]) == (
        "train:1",
        "val:1",
        "validation",
    )
    assert 0.95 <= near["cosine"] <= 1.0
    assert report["closest_kept"]["train"] == "train:3" and report["closest_kept"]["cosine"] < 0.95
    json.dumps(report)  # ready for a JSON report as is


@pytest.mark.integration
def test_split_leaves_no_near_duplicate_in_train(embedder):
    examples = [
        _example(phrasing.format(topic), f"Steps to {topic}.", f"d:{i}:{j}")
        for i, topic in enumerate(TOPICS)
        for j, phrasing in enumerate(PHRASINGS)
    ]
    config = SplitConfig(validation=0.2, test=0.2, near_duplicate_cosine=0.9)
    result = split_examples(examples, config, embedder)
    report = result.leak_report
    assert report["near_leaks_removed"] > 0 and report["seed"] == 0
    removed = report["sizes_before"]["train"] - report["sizes_after"]["train"]
    assert removed == report["exact_leaks_removed"] + report["near_leaks_removed"]
    held = embedder.embed([user_text(e) for e in result.validation + result.test])
    index = faiss.IndexFlatIP(held.shape[1])
    index.add(held)
    scores, _ = index.search(embedder.embed([user_text(e) for e in result.train]), 1)
    assert scores.max() < 0.9
    assert json.loads(json.dumps(report)) == report
