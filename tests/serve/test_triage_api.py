"""POST /v1/triage in-process: a tiny trained classifier, the scripted engine for the draft."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from hybrid.answer.triage import summarise
from hybrid.behaviour.classifier import Labelled, train_classifier
from hybrid.config import LoraSettings, TrainConfig
from hybrid.knowledge.sync import sync_folder
from hybrid.serve.app import create_app
from hybrid.serve.responses import TriageReply
from tests.conftest import THREE_DOCS, make_config, write_docs
from tests.evals.test_triage import CATEGORY, tickets
from tests.serve.fake_engine import FakeEngine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, tiny_llama):
    folder = tmp_path_factory.mktemp("triage")
    rows = [Labelled(t.text, t.intent) for t in tickets(30)]
    config = TrainConfig(
        base_model=str(tiny_llama), max_steps=60, batch_size=8, learning_rate=3e-3,
        max_length=32, eval_steps=30, dtype="fp32",
        lora=LoraSettings(r=8, alpha=16, target_modules="all-linear"),
    )  # fmt: skip
    train_classifier(config, rows, [], folder, progress=False)
    (folder / "categories.json").write_text(json.dumps(CATEGORY))
    return folder


def test_triage_classifies_routes_summarises_and_drafts(tmp_path, embedder, tiny_llama, classifier):
    config = make_config(
        tmp_path,
        routes={"support": {"collections": ["shop"]}},
        triage={"classifier": str(classifier), "base_model": str(tiny_llama)},
    )
    docs = write_docs(
        tmp_path / "docs",
        THREE_DOCS
        | {
            "tracking.md": "Parcels can be tracked "
            "from the order page; where is my parcel questions go to logistics.\n"
        },
    )
    sync_folder("shop", docs, config.knowledge, embedder)
    with TestClient(create_app(config, FakeEngine(), embedder)) as client:
        reply = client.post(
            "/v1/triage",
            json={"ticket": "where is my parcel please 3", "metadata": {"channel": "email"}},
        )
        assert reply.status_code == 200, reply.text
        body = TriageReply.model_validate(reply.json())
        assert body.intent == "track_order" and body.category == "ORDER" and body.team == "orders"
        assert body.intent_probability > 0.5 and len(body.alternatives) == 2
        assert body.summary == "where is my parcel please 3" and body.metadata["channel"] == "email"
        assert (
            body.draft is not None and body.draft.citations and body.draft.citations[0]["verified"]
        )
        plain = client.post("/v1/triage", json={"ticket": "refund my purchase", "draft": False})
        assert plain.json()["draft"] is None and plain.json()["team"] == "billing"
        blank = client.post("/v1/triage", json={"ticket": "   "})
        assert blank.status_code == 422 and "ticket" in blank.text
        huge = client.post("/v1/triage", json={"ticket": "x" * 20_001})
        assert huge.status_code == 413 and "max_ticket_chars" in huge.text


def test_triage_unconfigured_is_404_and_summaries_stay_short(tmp_path, embedder):
    with TestClient(create_app(make_config(tmp_path), FakeEngine(), embedder)) as client:
        reply = client.post("/v1/triage", json={"ticket": "hello"})
        assert reply.status_code == 404 and "triage" in reply.text
    assert summarise("My order never came.  It was a gift! Help.") == "My order never came."
    assert len(summarise("word " * 100)) == 120 and summarise("word " * 100).endswith("…")
