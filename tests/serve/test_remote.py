"""`engine: openai`: a front server composes and verifies, a second server generates."""

from __future__ import annotations

import httpx
import pytest

from tests.serve.conftest import KEYS, Server, start_server, stop_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_front_server_generates_through_an_openai_compatible_upstream(
    server: Server, request, tmp_path
):
    index_dir = request.getfixturevalue("index_dir")
    front = start_server(
        {
            "index_dir": str(index_dir),
            "runtime": {
                "engine": "openai",
                "openai": {
                    "base_url": f"{server.url}/v1",
                    "model": "raw",  # the upstream's plain-chat route
                    "api_key_env": "UPSTREAM_KEY",
                    "context_window": 2048,
                },
            },
            "routes": {
                "support": {
                    "collections": ["acme-policies"],
                    "top_k": 3,
                    "generation": {"max_new_tokens": 24},
                }
            },
        },
        tmp_path,
        env={"UPSTREAM_KEY": KEYS["admin"]},
    )
    try:
        before = _completion_tokens(server, "raw")
        with httpx.Client(base_url=front.url, timeout=120) as client:
            assert server.url in client.get("/healthz").json()["engine"]
            body = {
                "model": "support",
                "messages": [{"role": "user", "content": "Do you ship to Norway?"}],
            }
            reply = client.post("/v1/chat/completions", json=body)
            assert reply.status_code == 200, reply.text
            answer = reply.json()
            assert answer["choices"][0]["message"]["content"].strip()
            sources = answer["retrieval"]["sources"]
            assert sources and {s["collection"] for s in sources} == {"acme-policies"}

            with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as s:
                lines = [line for line in s.iter_lines() if line.startswith("data:")]
            assert lines[-1] == "data: [DONE]" and len(lines) > 4
        # The upstream generated both answers: its plain-chat route counted the tokens.
        assert _completion_tokens(server, "raw") >= before + 2
    finally:
        stop_server(front)


def _completion_tokens(server: Server, route: str) -> float:
    metric = f'hybrid_tokens_total{{kind="completion",route="{route}"}} '
    with server.client("admin") as admin:  # /metrics needs a key where keys are configured
        text = admin.get("/metrics").text
    for line in text.splitlines():
        if line.startswith(metric):
            return float(line.split()[-1])
    return 0.0
