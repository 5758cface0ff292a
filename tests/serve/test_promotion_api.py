"""serve.require_promotion: the server refuses to start on an unpromoted adapter, serves the
promoted one, and follows a rollback at the next request (no restart). Scripted engine."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hybrid.knowledge.sync import sync_folder
from hybrid.models.promotions import Promotions, promotions_path
from hybrid.serve.app import create_app
from tests.conftest import make_config
from tests.models.test_promotions import adapter, entry
from tests.serve.fake_engine import FakeEngine


def test_only_promoted_adapters_serve_and_a_rollback_is_live(tmp_path, embedder, docs_folder):
    a, b = adapter(tmp_path / "a", b"a"), adapter(tmp_path / "b", b"b")
    config = make_config(
        tmp_path,
        runtime={"adapters": {"a": str(a), "b": str(b)}},
        routes={"support": {"collections": ["shop"], "adapter": "a"}},
        serve={"require_promotion": True},
    )
    sync_folder("shop", docs_folder, config.knowledge, embedder)
    engine = FakeEngine(adapters=("a", "b"))
    with pytest.raises(ValueError, match=r"routes\.support: no adapter was promoted"):
        create_app(config, engine, embedder)
    log = Promotions(promotions_path(config.index_dir))
    log.record(entry("support", "a", a))
    log.record(entry("support", "b", b))
    ask = {"model": "support", "messages": [{"role": "user", "content": "When are refunds paid?"}]}
    with TestClient(create_app(config, engine, embedder)) as client:
        models = client.get("/v1/models").json()["data"]
        assert [m["adapter"] for m in models if m["id"] == "support"] == ["b"]
        assert client.post("/v1/chat/completions", json=ask).status_code == 200
        assert engine.asked[-1][2] == "b"
        log.rollback("support")  # `hybrid adapters rollback --route support`, from elsewhere
        assert client.post("/v1/chat/completions", json=ask).status_code == 200
        assert engine.asked[-1][2] == "a"
        assert [m["adapter"] for m in client.get("/v1/models").json()["data"]] == ["a"]
