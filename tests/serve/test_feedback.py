"""Feedback and monitoring over the API (in-process, scripted engine): every answer is ledgered
under the id its response carries; ratings and corrections are stored and survive a restart;
bad feedback gets the status the issue names and nothing stored is lost."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hybrid.knowledge.sync import sync_folder
from hybrid.monitor.ledger import Ledger
from hybrid.serve.app import create_app
from hybrid.serve.responses import FeedbackStored, MonitorReport
from tests.conftest import THREE_DOCS, make_config, write_docs
from tests.serve.fake_engine import FakeEngine

REFUND = "How long do I have to return a sale item?"


@pytest.fixture
def setup(tmp_path, embedder):
    config = make_config(
        tmp_path,
        routes={"support": {"collections": ["shop"]}},
        monitor={"feedback_per_minute": 4, "max_comment_chars": 50, "reference_size": 2},
    )
    sync_folder("shop", write_docs(tmp_path / "docs", THREE_DOCS), config.knowledge, embedder)
    return config, embedder


def ask(client: TestClient, question: str = REFUND, **extra) -> dict:
    body = {"model": "support", "messages": [{"role": "user", "content": question}], **extra}
    reply = client.post("/v1/chat/completions", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_rate_and_correct_an_answer_then_find_it_after_a_restart(setup):
    config, embedder = setup
    with TestClient(create_app(config, FakeEngine(), embedder)) as client:
        answer = ask(client)
        refused = ask(client, "Who painted the Mona Lisa?")
        up = client.post("/v1/feedback", json={"answer_id": answer["id"], "rating": "up"})
        assert up.status_code == 201, up.text
        down = client.post(
            "/v1/feedback",
            json={
                "answer_id": refused["id"],
                "rating": "down",
                "correction": "Leonardo da Vinci painted it.",
                "comment": "not in the documents, but known",
            },
        )
        stored = FeedbackStored.model_validate(down.json())
        assert stored.corrected and stored.rating == "down" and stored.route == "support"
        metrics = client.get("/metrics").text
        assert 'hybrid_feedback_total{rating="down",route="support"} 1.0' in metrics

    ledger = Ledger(config.monitor.ledger_path(config.index_dir))  # the server is gone
    by_id = {a.id: (f, a) for f, a in ledger.feedback()}
    feedback, record = by_id[answer["id"]]
    assert feedback.rating == 1 and record.question == REFUND
    assert record.evidence[0].document == "refunds.md" and record.versions["shop"] == "000001"
    assert record.prompt and record.cited == 1 and record.verified == 1
    assert record.vector is not None and record.vector.shape == (embedder.dimension,)
    feedback, record = by_id[refused["id"]]
    assert feedback.correction == "Leonardo da Vinci painted it." and record.refused
    assert record.prompt == ()  # refused before generating: nothing the model read


def test_bad_feedback_gets_its_status_and_loses_nothing(setup):
    config, embedder = setup
    with TestClient(create_app(config, FakeEngine(), embedder)) as client:
        answer_id = ask(client)["id"]
        unknown = client.post("/v1/feedback", json={"answer_id": "chatcmpl-no", "rating": "up"})
        assert unknown.status_code == 404 and "answer_id" in unknown.text
        long = client.post(
            "/v1/feedback", json={"answer_id": answer_id, "rating": "up", "comment": "x" * 51}
        )
        assert long.status_code == 413 and "max_comment_chars" in long.text
        shape = client.post("/v1/feedback", json={"answer_id": answer_id, "rating": "meh"})
        assert shape.status_code == 422 and "rating" in shape.text
        codes = [
            client.post("/v1/feedback", json={"answer_id": answer_id, "rating": "up"}).status_code
            for _ in range(6)
        ]
        # 4 posts per minute per key; the unknown id was one of them (floods of bad ids count)
        assert codes[:3] == [201] * 3 and codes[3:] == [429] * 3
        assert client.get("/healthz").status_code == 200  # still serving
    stored = Ledger(config.monitor.ledger_path(config.index_dir)).feedback(latest_only=False)
    assert len(stored) == 3  # the accepted posts, nothing else lost or added


def test_monitor_reports_drift_per_route_and_in_metrics(setup):
    config, embedder = setup
    with TestClient(create_app(config, FakeEngine(), embedder)) as client:
        for _ in range(4):
            ask(client)
        report = MonitorReport.model_validate(client.get("/v1/monitor").json())
        [route] = report.routes
        assert route.route == "support" and route.reference == 2 and route.window == 2
        assert route.status == "warming up" and route.thresholds["embedding_shift"] == 0.15
        assert route.signals["embedding_shift"] == pytest.approx(0.0, abs=1e-3)  # same question
        assert (
            'hybrid_drift_signal{route="support",signal="embedding_shift"}'
            in client.get("/metrics").text
        )


def test_an_unwritable_ledger_stops_the_start_naming_the_setting(tmp_path, embedder):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the ledger's folder should be")
    config = make_config(tmp_path, monitor={"ledger": str(blocker / "ledger.sqlite")})
    with pytest.raises(ValueError, match="monitor.ledger: cannot open"):
        create_app(config, FakeEngine(), embedder)


def test_monitoring_off_records_nothing(tmp_path, embedder):
    config = make_config(tmp_path, monitor={"record": False})
    with TestClient(create_app(config, FakeEngine(), embedder)) as client:
        answer = ask(client)
        reply = client.post("/v1/feedback", json={"answer_id": answer["id"], "rating": "up"})
        assert reply.status_code == 404 and "monitor.record" in reply.text
    assert not config.monitor.ledger_path(config.index_dir).exists()
