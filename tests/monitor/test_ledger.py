"""The answer ledger: answers and feedback survive a reopen and a kill -9; unknown ids are
NotFound; the latest rating of an answer wins."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from hybrid.errors import NotFound
from hybrid.monitor.ledger import AnswerRecord, Evidence, Ledger


def answer(answer_id: str, route: str = "support", vector=None) -> AnswerRecord:
    return AnswerRecord(
        id=answer_id,
        route=route,
        key="ops",
        question="How long do I have to return a sale item?",
        prompt=({"role": "user", "content": "[1] Sale items can be returned within 14 days."},),
        answer="Sale items can be returned within 14 days. [1]",
        refused=False,
        best_similarity=0.71,
        cited=1,
        verified=1,
        evidence=(Evidence(1, "c0ffee", "refunds.md", "shop", None),),
        versions={"shop": "000001"},
        citations=({"n": 1, "document": "refunds.md", "verified": True},),
        adapter="answerer",
        vector=vector,
    )


def test_answers_and_feedback_round_trip_and_survive_a_reopen(tmp_path):
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    vector = np.linspace(-1, 1, 8, dtype=np.float32)
    ledger.record(answer("chatcmpl-a", vector=vector))
    ledger.record(answer("chatcmpl-b", route="legal"))
    ledger.add_feedback("chatcmpl-a", "ops", -1, comment="wrong window")
    ledger.add_feedback("chatcmpl-a", "ops", -1, correction="Within 14 days. [1]")
    with pytest.raises(NotFound, match="chatcmpl-zzz"):
        ledger.add_feedback("chatcmpl-zzz", "ops", 1)
    with pytest.raises(ValueError, match="rating"):
        ledger.add_feedback("chatcmpl-a", "ops", 0)
    ledger.close()

    again = Ledger(path)
    got = again.get("chatcmpl-a")
    assert got is not None and got.evidence[0].chunk_id == "c0ffee"
    assert got.versions == {"shop": "000001"} and got.prompt[0]["role"] == "user"
    assert np.allclose(got.vector, vector, atol=1e-3)  # stored as float16
    [(latest, of)] = again.feedback()  # one per answer: the latest
    assert latest.correction == "Within 14 days. [1]" and of.id == "chatcmpl-a"
    assert len(again.feedback(latest_only=False)) == 2
    assert again.routes() == ["legal", "support"]
    assert [(a.id, r) for a, r in again.answers("support")] == [("chatcmpl-a", -1)]
    assert [a.id for a, _ in again.answers(last=1)] == ["chatcmpl-b"]


def test_a_committed_feedback_survives_kill_9(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path).record(answer("chatcmpl-a"))
    script = (
        "import os, signal; from pathlib import Path; from hybrid.monitor.ledger import Ledger; "
        f"l = Ledger(Path({str(path)!r})); l.add_feedback('chatcmpl-a', 'ops', 1, 'ok'); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert done.returncode == -9  # killed, no close, no checkpoint
    [(feedback, _)] = Ledger(path).feedback()
    assert feedback.rating == 1 and feedback.correction == "ok"
