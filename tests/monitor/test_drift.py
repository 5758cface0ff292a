"""Drift: the signals on hand-made windows, the online monitor, and real query streams (the KB
questions, then CUAD clause questions) through the real retriever."""

from __future__ import annotations

import random

import numpy as np
import pytest

from hybrid.answer.router import Router
from hybrid.config import MonitorConfig
from hybrid.datasets.qa_sets import index_set, read_cuad, read_kb
from hybrid.monitor.drift import DriftMonitor, Observation, judge, mmd2, psi, replay, signals
from tests.conftest import REPO, SHARED, make_config, require_shared

KB = REPO / "evals" / "data" / "kb"


def _obs(i: int, vector, best=0.6, refused=False, cited=1, verified=1, rating=None):
    return Observation(f"chatcmpl-{i}", vector, best, refused, cited, verified, rating)


def test_signals_on_hand_made_windows():
    rng = np.random.default_rng(0)
    same = rng.normal(size=(400, 16))
    same /= np.linalg.norm(same, axis=1, keepdims=True)
    assert psi(rng.normal(size=2000), rng.normal(size=2000)) < 0.05
    assert psi(rng.normal(size=2000), rng.normal(1.0, size=2000)) > 0.5
    assert mmd2(same[:200], same[200:]) < 0.01
    assert mmd2(same[:200], same[200:] + 1.0) > 0.1

    # Questions about one topic (near e0), then about its opposite.
    topic = np.eye(16)[0] * 3 + rng.normal(size=(140, 16))
    topic /= np.linalg.norm(topic, axis=1, keepdims=True)
    other = topic * np.r_[-1.0, np.ones(15)]
    reference = [_obs(i, topic[i], best=0.6) for i in range(100)]
    window = [_obs(i, other[100 + i], 0.2, True, cited=2, verified=0) for i in range(40)]
    window[0].rating, window[1].rating = -1, 1
    raw, changes = signals(reference, window)
    assert raw["refusal_rate"] == 1.0 and changes["refusal_rate"] == 1.0  # rise from 0
    assert raw["verified_rate"] == 0.0 and changes["verified_rate"] == 1.0  # fall from 1
    assert raw["thumbs_down_rate"] == 0.5
    assert raw["embedding_shift"] > 1.0  # the opposite direction
    assert set(judge(changes, MonitorConfig().thresholds)) == {
        "embedding_shift", "mmd", "similarity_psi", "refusal_rate", "verified_rate",
        "thumbs_down_rate",
    }  # fmt: skip


def test_monitor_warms_up_keeps_a_window_and_takes_late_ratings():
    config = MonitorConfig(reference_size=10, window_size=5, min_window=3)
    monitor = DriftMonitor(config)
    v = np.ones(4, np.float32) / 2
    for i in range(12):
        monitor.observe("support", _obs(i, v))
    assert monitor.report("support").status == "warming up"  # 2 of min_window 3
    for i in range(12, 20):
        monitor.observe("support", _obs(i, v))
    report = monitor.report("support")
    assert (report.reference, report.window, report.status) == (10, 5, "ok")
    monitor.rate("chatcmpl-19", -1)  # in the window: counts
    monitor.rate("chatcmpl-11", -1)  # fell out of the window: ignored
    assert monitor.report("support").signals["thumbs_down_rate"] == 1.0
    history = replay("support", [_obs(i, v) for i in range(30)], config, every=5)
    assert [n for n, _ in history] == [15, 20, 25, 30]


@pytest.fixture(scope="module")
def streams(embedder, tmp_path_factory):
    """(reference, in-distribution, shifted) observations from the real retriever."""
    tmp = tmp_path_factory.mktemp("drift")
    sets = {s: read_kb(KB / s / "docs", KB / s / "questions.jsonl") for s in ("train", "heldout")}
    config = make_config(tmp, routes={"support": {"collections": ["kb-train", "kb-heldout"]}})
    for name, qa_set in sets.items():
        index_set(f"kb-{name}", qa_set, config, embedder, False)
    router = Router(config, None, embedder)
    cuad = read_cuad(require_shared(SHARED / "contracts" / "cuad_master_clauses.csv"), limit=10)

    def observe(questions: list[str], start: int) -> list[Observation]:
        out = []
        for i, q in enumerate(questions, start):
            r = router.retrieve("support", q)
            out.append(_obs(i, r.query_vector, r.best_similarity, r.refused, cited=0))
        return out

    kb = [q.question for s in sets.values() for q in s.questions]
    random.Random(0).shuffle(kb)
    shifted = [q.question for q in cuad.questions]
    random.Random(0).shuffle(shifted)
    return observe(kb[:100], 0), observe(kb[100:], 100), observe(shifted[:50], 1000)


@pytest.mark.integration
def test_in_distribution_stream_stays_under_and_a_shifted_one_crosses(streams):
    reference, same, shifted = streams
    config = MonitorConfig(reference_size=100)  # default window and thresholds
    monitor = DriftMonitor(config)
    for obs in reference:
        monitor.observe("support", obs)
    for obs in same:  # 132 more KB questions: every window of them stays under every threshold
        monitor.observe("support", obs)
        report = monitor.report("support")
        assert report.status != "drifting", report
    crossed = None
    for n, obs in enumerate(shifted, start=1):  # then contract questions arrive
        monitor.observe("support", obs)
        if "embedding_shift" in monitor.report("support").drifting:
            crossed = n
            break
    assert crossed is not None and crossed <= 50
    final = monitor.report("support")
    assert final.status == "drifting"
