"""Agents' feedback into training data: export (redacted, gated) and a tiny training run on it,
from a chat answer rated over the API to the adapter card that counts the corrections."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from hybrid.behaviour.feedback import export_feedback
from hybrid.behaviour.pipeline import run_training
from hybrid.behaviour.redact import Redactor
from hybrid.config import RedactionConfig, parse_config
from hybrid.knowledge.sync import sync_folder
from hybrid.models.cards import read_card
from hybrid.monitor.ledger import Ledger
from hybrid.serve.app import create_app
from tests.behaviour.test_pipeline import _write_chat
from tests.conftest import THREE_DOCS, make_config, write_docs
from tests.monitor.test_ledger import answer
from tests.serve.fake_engine import FakeEngine


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(RedactionConfig())


def test_export_writes_corrections_as_examples_and_the_rest_as_cases(tmp_path, redactor):
    ledger = Ledger(tmp_path / "ledger.sqlite")
    out = tmp_path / "feedback.jsonl"
    assert export_feedback(ledger, redactor, out).written == []  # empty: nothing, no error
    leaky = answer("chatcmpl-a")
    prompt = ({"role": "user", "content": "[1] Write to jane.doe@example.com for refunds."},)
    ledger.record(leaky.__class__(**{**leaky.__dict__, "prompt": prompt}))
    ledger.record(answer("chatcmpl-b"))
    ledger.record(answer("chatcmpl-c"))
    ledger.record(answer("chatcmpl-d").__class__(**{**answer("chatcmpl-d").__dict__, "prompt": ()}))
    ledger.add_feedback("chatcmpl-a", "ops", -1, correction="Email jane.doe@example.com. [1]")
    ledger.add_feedback("chatcmpl-b", "ops", -1, comment="wrong, ask Ann Lee")
    ledger.add_feedback("chatcmpl-c", "ops", 1)
    ledger.add_feedback("chatcmpl-d", "ops", -1, correction="Within 30 days.")  # refused: no prompt

    report = export_feedback(ledger, redactor, out)
    assert (report.examples, report.held_out, report.approved) == (1, 2, 1)
    [line] = out.read_text().splitlines()
    messages = json.loads(line)["messages"]
    assert messages[-1]["role"] == "assistant" and messages[-1]["content"].startswith("Email <")
    assert "jane.doe" not in line and report.redaction["counts"]["EMAIL_ADDRESS"] >= 1
    cases = [json.loads(x) for x in (tmp_path / "feedback.heldout.jsonl").read_text().splitlines()]
    assert [c["answer_id"] for c in cases] == ["chatcmpl-b", "chatcmpl-d"]
    assert cases[0]["expected_answer"] is None and "Ann Lee" not in cases[0]["comment"]
    assert cases[1]["expected_answer"] == "Within 30 days."


@pytest.mark.integration
@pytest.mark.slow
def test_rated_answer_to_trained_adapter(tmp_path, embedder, tiny_llama, redactor):
    config = make_config(tmp_path, routes={"support": {"collections": ["shop"]}})
    sync_folder("shop", write_docs(tmp_path / "docs", THREE_DOCS), config.knowledge, embedder)
    with TestClient(create_app(config, FakeEngine(), embedder)) as client:
        body = {"model": "support", "messages": [{"role": "user", "content": "Sale items?"}]}
        answer_id = client.post("/v1/chat/completions", json=body).json()["id"]
        correction = {"answer_id": answer_id, "rating": "down", "correction": "14 days. [1]"}
        assert client.post("/v1/feedback", json=correction).status_code == 201
    ledger = Ledger(config.monitor.ledger_path(config.index_dir))
    exported = tmp_path / "feedback.jsonl"
    assert export_feedback(ledger, redactor, exported).examples == 1

    recipe = parse_config(
        {
            "data": {"path": str(_write_chat(tmp_path / "d.jsonl", False))},
            "feedback": {"path": str(exported), "repeat": 2},
            "split": {"validation": 0.2, "test": 0.0, "near_duplicate_cosine": 0.999},
            "train": {
                "base_model": str(tiny_llama),
                "adapter_name": "fb",
                "max_steps": 2,
                "batch_size": 4,
                "eval_steps": 1,
                "max_length": 256,
                "dtype": "fp32",
                "adapters_dir": str(tmp_path / "adapters"),
            },
        }
    )
    result = run_training(recipe, progress=False)
    card = read_card(result.adapter_dir)
    assert card.feedback_examples == 2  # the one correction, repeated twice, in training
    assert any(d.path == str(exported) for d in card.data)
