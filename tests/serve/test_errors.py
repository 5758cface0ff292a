"""One error family, one mapping: an error raised on purpose keeps its status (Invalid 400,
NotFound 404, Conflict 409, Overloaded 503); any other exception is a logged 500 in the API's
error shape, never a 400 that blames the client. In-process on a tiny random Llama."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hybrid.errors import Conflict, HybridError, Invalid, NotFound, Overloaded, status_of
from hybrid.runtime.local import LocalEngine
from hybrid.serve.app import create_app
from tests.conftest import make_config


@pytest.mark.parametrize(
    ("error", "status"),
    [(Invalid("x"), 400), (NotFound("x"), 404), (Conflict("x"), 409), (Overloaded("x"), 503)],
)
def test_each_kind_has_one_status(error: HybridError, status: int):
    assert status_of(error) == status
    assert status_of(HybridError("x")) == 500


def test_invalid_is_400_and_a_library_valueerror_is_a_logged_500(
    tmp_path: Path, embedder, tiny_llama: Path, caplog
):
    config = make_config(
        tmp_path,
        runtime={"base_model": str(tiny_llama), "dtype": "fp32", "device": "cpu"},
        routes={"raw": {"generation": {"max_new_tokens": 4}}},
    )
    engine = LocalEngine(config.runtime)
    app = create_app(config, engine, embedder)
    with TestClient(app, raise_server_exceptions=False) as client:
        # The router's Invalid: a question longer than the tiny model's 256-token window.
        too_long = [{"role": "user", "content": "word " * 400}]
        invalid = client.post("/v1/chat/completions", json={"model": "raw", "messages": too_long})
        assert invalid.status_code == 400
        assert invalid.json()["error"]["message"].startswith("messages: the question alone")

        def broken(*args, **kwargs):
            raise ValueError("a library's own complaint")  # not the client's fault

        app.state.services.answers.compose = broken
        body = {"model": "raw", "messages": [{"role": "user", "content": "Hello"}]}
        failed = client.post("/v1/chat/completions", json=body)
        assert failed.status_code == 500
        assert failed.json()["error"] == {
            "message": "internal error (ValueError)",
            "type": "server_error",
            "param": None,
        }
        assert "a library's own complaint" in caplog.text  # logged with its traceback
        assert client.get("/healthz").json()["status"] == "ok"  # and the server goes on
