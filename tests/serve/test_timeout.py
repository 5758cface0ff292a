"""Request timeouts, in-process (FastAPI's TestClient) on a tiny random Llama: a generation
that outlives serve.limits.request_timeout_s is cancelled and answered 504; the engine goes on."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from hybrid.runtime.local import LocalEngine
from hybrid.serve.app import create_app
from tests.conftest import make_config


def test_generation_past_the_deadline_is_504_and_the_server_recovers(
    tmp_path: Path, embedder, tiny_llama: Path
):
    config = make_config(
        tmp_path,
        runtime={"base_model": str(tiny_llama), "dtype": "fp32", "device": "cpu"},
        routes={"raw": {"generation": {"max_new_tokens": 150}}},
        serve={"limits": {"request_timeout_s": 0.001}},
    )
    engine = LocalEngine(config.runtime)
    body = {"model": "raw", "messages": [{"role": "user", "content": "Hello"}]}
    with TestClient(create_app(config, engine, embedder)) as client:
        slow = client.post("/v1/chat/completions", json=body)
        assert slow.status_code == 504
        assert "request_timeout_s" in slow.json()["error"]["message"]
        stream = client.post("/v1/chat/completions", json={**body, "stream": True})
        assert stream.status_code == 200 and '"finish_reason": "length"' in stream.text
        assert stream.text.rstrip().endswith("data: [DONE]")
        assert client.get("/healthz").json()["status"] == "ok"
    assert engine.pending() == 0
