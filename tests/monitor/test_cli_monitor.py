"""`hybrid feedback list|export` and `hybrid monitor` over a real process and a real ledger."""

from __future__ import annotations

import json

import numpy as np

from hybrid.monitor.ledger import AnswerRecord, Ledger
from tests.monitor.test_ledger import answer
from tests.test_cli import _hybrid


def test_empty_store_exports_nothing_and_says_so(tmp_path):
    index_dir = tmp_path / "indexes"
    done = _hybrid("feedback", "export", str(tmp_path / "f.jsonl"), index_dir=index_dir)
    assert done.returncode == 0 and "nothing written" in done.stdout
    Ledger(tmp_path / "indexes.ledger.sqlite").record(answer("chatcmpl-a"))  # answers, no feedback
    done = _hybrid("feedback", "export", str(tmp_path / "f.jsonl"), index_dir=index_dir)
    assert done.returncode == 0 and "no corrections" in done.stdout
    assert not (tmp_path / "f.jsonl").exists()
    assert "no feedback" in _hybrid("feedback", "list", index_dir=index_dir).stdout


def test_monitor_tables_and_plots_a_route_that_drifted(tmp_path):
    ledger = Ledger(tmp_path / "indexes.ledger.sqlite")
    rng = np.random.default_rng(0)
    topic, other = np.eye(8)[0] * 3, np.eye(8)[1] * 3
    for i in range(300):  # 200 on one topic (the reference), then 100 on another
        v = (topic if i < 250 else other) + rng.normal(size=8)
        base = answer(f"chatcmpl-{i:03d}", vector=(v / np.linalg.norm(v)).astype(np.float32))
        ledger.record(AnswerRecord(**{**base.__dict__, "created": 1000.0 + i}))
    ledger.add_feedback("chatcmpl-299", "ops", -1, correction="Right answer. [1]")
    plot = tmp_path / "monitor.png"
    done = _hybrid("monitor", "--plot", str(plot), index_dir=tmp_path / "indexes")
    assert done.returncode == 0, done.stderr
    assert "support" in done.stdout and "drifting" in done.stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"
    listed = _hybrid("feedback", "list", index_dir=tmp_path / "indexes")
    assert "Right answer" in listed.stdout
    out = tmp_path / "f.jsonl"
    exported = _hybrid("feedback", "export", str(out), index_dir=tmp_path / "indexes")
    assert exported.returncode == 0 and "1 training examples" in exported.stdout
    assert json.loads(out.read_text())["messages"][-1]["content"] == "Right answer. [1]"
