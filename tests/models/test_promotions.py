"""The promotions log: a stack per route, rollbacks, audit lines, and the start-time check."""

from __future__ import annotations

import pytest

from hybrid.errors import Conflict, NotFound
from hybrid.models.promotions import Promotion, Promotions, Served, check_promoted, digest
from tests.conftest import make_config


def adapter(folder, weights: bytes):
    """An adapter folder as the log sees it: only its weights' digest matters here."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_model.safetensors").write_bytes(weights)
    return folder


def clause_model(folder, weights: bytes):
    """A clause model's files as the log sees them (its metadata and weights)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clauses.json").write_text('{"types": []}')
    (folder / "weights.npz").write_bytes(weights)
    return folder


def entry(route: str, name: str, folder, action="promote", **extra) -> Promotion:
    return Promotion(route, name, str(folder), digest(folder), action, **extra)


def test_promotions_stack_per_route_and_roll_back_in_order(tmp_path):
    a, b, c = (adapter(tmp_path / n, n.encode()) for n in "abc")
    log = Promotions(tmp_path / "idx.promotions.jsonl")
    assert log.current("support") is None and log.history() == []
    for name, folder in (("a", a), ("b", b), ("c", c)):
        log.record(entry("support", name, folder, figures={"fact_match": 0.9}))
    log.record(entry("legal", "a", a, action="force", reason="hotfix", failed=("x 0.1 < 0.5",)))
    assert log.current("support").adapter == "c" and log.current("legal").reason == "hotfix"
    reader = Promotions(log.path)  # another process: a server reading the same log
    assert reader.current("support").adapter == "c"
    assert log.rollback("support").adapter == "b"
    assert reader.current("support").adapter == "b"  # re-read: the file changed
    assert log.rollback("support").adapter == "a"
    with pytest.raises(ValueError, match="no earlier promoted adapter"):
        log.rollback("support")
    with pytest.raises(ValueError, match="no earlier promoted adapter"):
        log.rollback("legal")
    actions = [p.action for p in reader.history("support")]
    assert actions == ["promote", "promote", "promote", "rollback", "rollback"]
    assert all(p.at.endswith("Z") for p in reader.history())
    log.path.write_text(log.path.read_text() + "not json\n")
    with pytest.raises(ValueError, match=r"promotions\.jsonl:7: not a promotion"):
        Promotions(log.path).history()


def test_a_server_refuses_an_adapter_that_was_not_promoted_or_changed(tmp_path):
    a = adapter(tmp_path / "a", b"weights a")
    config = make_config(
        tmp_path,
        runtime={"adapters": {"a": str(a)}},
        routes={"support": {"adapter": "a"}, "chat": {}},
    )
    log = Promotions(tmp_path / "p.jsonl")
    with pytest.raises(ValueError, match=r"routes\.support: no adapter was promoted.*promote a"):
        check_promoted(config, log)
    log.record(entry("support", "a", a))
    # Clause flags are on by default: their model needs a promotion too.
    with pytest.raises(ValueError, match=r"clauses: no model was promoted.*--route clauses"):
        check_promoted(config, log)
    clauses = clause_model(tmp_path / "clauses", b"w")
    log.record(entry("clauses", str(clauses), clauses))
    check_promoted(config, log)  # the plain route serves the base model: nothing to check
    (clauses / "weights.npz").write_bytes(b"refit")  # the digest covers weights and metadata
    with pytest.raises(ValueError, match=r"clauses: adapter .* changed since its promotion"):
        check_promoted(config, log)
    check_promoted(config.model_copy(update={"clauses": None}), log)
    (clauses / "weights.npz").write_bytes(b"w")
    (a / "adapter_model.safetensors").write_bytes(b"retrained")
    with pytest.raises(ValueError, match="changed since its promotion"):
        check_promoted(config, log)
    other = adapter(tmp_path / "z", b"z")
    log.record(entry("support", "z", other))
    with pytest.raises(ValueError, match="'z' is not in runtime.adapters"):
        check_promoted(config, log)
    with pytest.raises(FileNotFoundError, match="no adapter weights"):
        digest(tmp_path)


def test_a_served_task_model_follows_promotions_and_loads_each_once(tmp_path):
    a, b = clause_model(tmp_path / "a", b"a"), clause_model(tmp_path / "b", b"b")
    loads: list[str] = []

    def load(folder):
        loads.append(folder.name)
        return f"model {folder.name}"

    assert Served("clauses", a, load, None).get() == "model a"  # no log: the configured one
    log = Promotions(tmp_path / "p.jsonl")
    with pytest.raises(NotFound, match="clauses: no model is promoted"):
        Served("clauses", a, load, log)
    log.record(entry("clauses", "a", a))
    log.record(entry("clauses", "b", b))
    served = Served("clauses", a, load, log)  # configured a, promoted b: b serves
    assert [served.get(), served.get()] == ["model b", "model b"]
    log.rollback("clauses")  # another process's `hybrid adapters rollback --route clauses`
    assert served.get() == "model a"
    assert loads == ["a", "b", "a"]  # once per promotion served, never per request
    (a / "weights.npz").write_bytes(b"edited in place")
    assert served.get() == "model a"  # the loaded model is the promoted one: it serves on
    log.record(entry("clauses", "b", b))
    assert served.get() == "model b"
    log.rollback("clauses")  # back to a, whose files changed since it was promoted
    with pytest.raises(Conflict, match="changed since its promotion"):
        served.get()
