"""Triage: the split, the scores, and the LoRA classifier trained and reloaded (tiny model)."""

from __future__ import annotations

import pytest

from hybrid.behaviour.classifier import Labelled, train_classifier
from hybrid.config import LoraSettings, TrainConfig
from hybrid.evals import triage
from hybrid.models.classifier import Classifier

WORDS = {
    "track_order": ["where is my parcel", "track my order", "has my package shipped"],
    "get_refund": ["i want my money back", "refund my purchase", "return and refund"],
    "delete_account": ["close my account", "delete my profile", "remove my account"],
}
CATEGORY = {"track_order": "ORDER", "get_refund": "REFUND", "delete_account": "ACCOUNT"}


def tickets(n: int = 20) -> list[triage.Ticket]:
    return [
        triage.Ticket(f"{WORDS[intent][i % 3]} please {i}", intent, CATEGORY[intent])
        for intent in WORDS
        for i in range(n)
    ]


def test_split_is_stable_and_scores_are_right():
    train, test = triage.split(tickets(), 0.25, seed=0)
    assert len(train) + len(test) == 60 and 5 <= len(test) <= 25
    assert triage.split(tickets(), 0.25, seed=0) == (train, test)
    assert triage.macro_f1(["a", "b"], ["a", "b"]) == 1.0
    assert triage.macro_f1(["a", "a", "b"], ["a", "b", "b"]) == pytest.approx(0.6667, abs=1e-4)
    arm = triage.score("x", test, [t.intent for t in test], [5.0] * len(test), CATEGORY)
    assert (arm.intent_macro_f1, arm.category_macro_f1, arm.accuracy) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="missing columns"):
        triage.read_bitext(_csv_without_intent())


def _csv_without_intent(path=None):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "t.csv"
    path.write_text("instruction,category\nhello,ORDER\n")
    return path


@pytest.mark.slow
def test_lora_classifier_learns_saves_and_reloads(tmp_path, tiny_llama, embedder):
    train, test = triage.split(tickets(30), 0.2, seed=0)
    rows = [Labelled(t.text, t.intent) for t in train]
    config = TrainConfig(
        base_model=str(tiny_llama),
        max_steps=60,
        batch_size=8,
        learning_rate=3e-3,
        max_length=32,
        eval_steps=30,
        dtype="fp32",
        lora=LoraSettings(r=8, alpha=16, target_modules="all-linear"),
    )
    metrics = train_classifier(config, rows, rows[:6], tmp_path / "triage", progress=False)
    assert metrics["steps"] > 0 and not (tmp_path / "triage" / "checkpoints").exists()
    classifier = Classifier.load(tmp_path / "triage", str(tiny_llama), "fp32")
    probs = classifier.predict([t.text for t in test])
    assert all(abs(sum(p.values()) - 1) < 1e-4 and set(p) == set(WORDS) for p in probs)
    accuracy = sum(max(p, key=p.get) == t.intent for p, t in zip(probs, test)) / len(test)
    assert accuracy > 0.8  # three word-disjoint intents: learnable by a 2-layer model
    preds, latencies = triage.embedding_arm(rows, test, embedder)
    assert sum(p == t.intent for p, t in zip(preds, test)) / len(test) > 0.9
    with pytest.raises(ValueError, match="never seen"):
        train_classifier(config, rows[:3], [Labelled("x", "unseen")], tmp_path / "t2", False)


@pytest.mark.integration
def test_shipped_classifier_routes_real_tickets():
    from pathlib import Path

    from hybrid.answer.triage import Triager
    from hybrid.config import TriageConfig

    repo = Path(__file__).resolve().parents[2]
    triager = Triager.load(TriageConfig(classifier=repo / "hybrid" / "adapters" / "triage"))
    cases = {
        "I was charged twice for the same order, I want my money back": "REFUND",
        "my package still hasn't arrived, where is it?": "DELIVERY",
        "I forgot my password and can't log in to my account": "ACCOUNT",
    }
    for ticket, category in cases.items():
        found = triager.triage(ticket)
        assert found.category == category, (ticket, found)
        assert found.team == TriageConfig.model_fields["teams"].default[category]
        assert 0 < found.intent_probability <= 1
