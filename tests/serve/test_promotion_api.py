"""serve.require_promotion: the server refuses to start on an unpromoted adapter or task model,
serves the promoted one, and follows a rollback at the next request (no restart). Scripted
engine; the clause model is a real one, trained in seconds."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient

from hybrid.knowledge.sync import sync_folder
from hybrid.models.promotions import Promotions, promotions_path
from hybrid.serve.app import create_app
from tests.clause_data import CONTRACT, TYPES, pdf, tiny_model
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
        clauses=None,  # its promotion has a test of its own, below
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


def test_the_promoted_clause_model_serves_and_a_rollback_swaps_it_live(tmp_path, embedder):
    a = tmp_path / "a"
    tiny_model(a, embedder)
    b = tmp_path / "b"  # a retrained model that turned out to flag nothing
    shutil.copytree(a, b)
    meta = json.loads((b / "clauses.json").read_text())
    (b / "clauses.json").write_text(json.dumps(meta | {"thresholds": [0.9999] * len(TYPES)}))
    config = make_config(
        tmp_path,
        routes={"chat": {}},
        clauses={"model": str(a), "types": {t: {} for t in TYPES}},
        serve={"require_promotion": True},
    )
    with pytest.raises(ValueError, match=r"clauses: no model was promoted.*--route clauses"):
        create_app(config, FakeEngine(), embedder)
    log = Promotions(promotions_path(config.index_dir))
    log.record(entry("clauses", str(a), a))
    log.record(entry("clauses", str(b), b))

    def flagged(client) -> list[str]:
        found = client.post("/v1/clauses?filename=supply.pdf", content=pdf(CONTRACT))
        assert found.status_code == 200, found.text
        return [f["type"] for f in found.json()["flags"]]

    with TestClient(create_app(config, FakeEngine(), embedder)) as client:
        assert flagged(client) == []  # b, the promoted one, not the recipe's a
        log.rollback("clauses")  # `hybrid adapters rollback --route clauses`, from elsewhere
        assert flagged(client) == ["Governing Law", "Anti-Assignment"]
        (a / "weights.npz").write_bytes((a / "weights.npz").read_bytes() + b"\0")
        log.record(entry("clauses", str(b), b))
        assert flagged(client) == []
        log.rollback("clauses")  # back to a, whose weights were edited after its promotion
        refused = client.post("/v1/clauses?filename=supply.pdf", content=pdf(CONTRACT))
        assert refused.status_code == 409 and "changed since its promotion" in refused.text
