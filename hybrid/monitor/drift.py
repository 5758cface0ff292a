"""Drift per route: a window of recent queries against the route's reference queries.

Signals (``signals``): where the questions went (centroid distance and squared MMD of the query
embeddings), how well the documents still meet them (PSI of the best retrieval similarity), and
how the answers fare (refusal rate, verified-citation rate, thumbs-down rate). ``DriftMonitor``
keeps them online in the server (O(1) per answer; signals are computed when asked for), and
``replay`` recomputes them over a ledger's history for ``hybrid monitor``.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hybrid.config import DriftThresholds, MonitorConfig
from hybrid.monitor.ledger import AnswerRecord

SIGNALS = (
    "embedding_shift",
    "mmd",
    "similarity_psi",
    "refusal_rate",
    "verified_rate",
    "thumbs_down_rate",
)


@dataclass
class Observation:
    """What drift needs of one answer; ``rating`` arrives later, with feedback."""

    answer_id: str
    vector: np.ndarray | None  # (dim,) unit vector of the question; None: nothing retrieved
    best_similarity: float | None
    refused: bool
    cited: int
    verified: int
    rating: int | None = None

    @classmethod
    def of(cls, a: AnswerRecord, rating: int | None = None) -> Observation:
        return cls(a.id, a.vector, a.best_similarity, a.refused, a.cited, a.verified, rating)


@dataclass(frozen=True)
class RouteDrift:
    route: str
    reference: int  # queries in the reference
    window: int  # queries in the recent window
    signals: dict[str, float | None]  # raw values (rates of the window)
    changes: dict[str, float | None]  # what the thresholds judge (see ``judge``)
    drifting: tuple[str, ...]  # signals past their threshold
    status: str  # "ok", "drifting", or "warming up" (too few queries for a verdict)


def _unit_mean(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def mmd2(x: np.ndarray, y: np.ndarray, gamma: float = 1.0) -> float:
    """Squared maximum mean discrepancy (biased), RBF kernel exp(-gamma |a - b|^2)."""

    def kernel(a: np.ndarray, b: np.ndarray) -> float:
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return float(np.exp(-gamma * np.maximum(d2, 0.0)).mean())

    return max(0.0, kernel(x, x) + kernel(y, y) - 2 * kernel(x, y))


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 5) -> float:
    """Population stability index of ``current`` against ``reference``, over the reference's
    quantile bins. Half a count per bin (Laplace) keeps a bin a small window left empty from
    reading as a shift: windows are tens of queries, not thousands."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref = np.bincount(np.searchsorted(edges, reference, "right"), minlength=len(edges) + 1)
    cur = np.bincount(np.searchsorted(edges, current, "right"), minlength=len(edges) + 1)
    p = (ref + 0.5) / (ref.sum() + 0.5 * len(ref))
    q = (cur + 0.5) / (cur.sum() + 0.5 * len(cur))
    return float(((q - p) * np.log(q / p)).sum())


def _rates(obs: list[Observation]) -> tuple[float | None, float | None, float | None]:
    refusal = sum(o.refused for o in obs) / len(obs) if obs else None
    cited = sum(o.cited for o in obs)
    verified = sum(o.verified for o in obs) / cited if cited else None
    rated = [o.rating for o in obs if o.rating is not None]
    down = sum(r < 0 for r in rated) / len(rated) if rated else None
    return refusal, verified, down


def signals(reference: list[Observation], window: list[Observation]) -> tuple[dict, dict]:
    """(raw signals of the window, the changes the thresholds judge) against the reference."""
    raw: dict[str, float | None] = dict.fromkeys(SIGNALS)
    ref_v = [o.vector for o in reference if o.vector is not None]
    win_v = [o.vector for o in window if o.vector is not None]
    if len(ref_v) > 1 and len(win_v) > 1:
        ref_m, win_m = np.stack(ref_v), np.stack(win_v)
        raw["embedding_shift"] = round(1.0 - float(_unit_mean(ref_m) @ _unit_mean(win_m)), 4)
        raw["mmd"] = round(mmd2(ref_m, win_m), 4)
    ref_s = [o.best_similarity for o in reference if o.best_similarity is not None]
    win_s = [o.best_similarity for o in window if o.best_similarity is not None]
    if len(ref_s) > 1 and len(win_s) > 1:
        raw["similarity_psi"] = round(psi(np.array(ref_s), np.array(win_s)), 4)
    (ref_refusal, ref_verified, _), (refusal, verified, down) = _rates(reference), _rates(window)
    raw |= {"refusal_rate": refusal, "verified_rate": verified, "thumbs_down_rate": down}
    changes = dict(raw)
    changes["refusal_rate"] = (
        None if refusal is None or ref_refusal is None else round(refusal - ref_refusal, 4)
    )
    changes["verified_rate"] = (
        None if verified is None or ref_verified is None else round(ref_verified - verified, 4)
    )
    return {k: None if v is None else round(v, 4) for k, v in raw.items()}, changes


def judge(changes: dict[str, float | None], thresholds: DriftThresholds) -> tuple[str, ...]:
    """The signals past their thresholds (refusals: rise; verified citations: fall)."""
    return tuple(
        name
        for name in SIGNALS
        if changes.get(name) is not None and changes[name] > getattr(thresholds, name)
    )


@dataclass
class _Route:
    reference: list[Observation] = field(default_factory=list)
    window: deque[Observation] = field(default_factory=deque)


class DriftMonitor:
    """Per route: the first ``reference_size`` answers, then the last ``window_size``.

    Example: ``m = DriftMonitor(MonitorConfig()); m.observe("support", obs); m.report("support")``
    """

    def __init__(self, config: MonitorConfig):
        self.config = config
        self._routes: dict[str, _Route] = {}
        self._by_id: dict[str, Observation] = {}
        self._lock = threading.Lock()

    def observe(self, route: str, obs: Observation) -> None:
        with self._lock:
            state = self._routes.setdefault(route, _Route())
            if len(state.reference) < self.config.reference_size:
                state.reference.append(obs)
            else:
                if len(state.window) == self.config.window_size:
                    self._by_id.pop(state.window.popleft().answer_id, None)
                state.window.append(obs)
            self._by_id[obs.answer_id] = obs

    def rate(self, answer_id: str, rating: int) -> None:
        """Feedback on an answer still in memory (older ones only count in ``replay``)."""
        with self._lock:
            if answer_id in self._by_id:
                self._by_id[answer_id].rating = rating

    def routes(self) -> list[str]:
        with self._lock:
            return sorted(self._routes)

    def report(self, route: str) -> RouteDrift:
        with self._lock:
            state = self._routes.get(route, _Route())
            reference, window = list(state.reference), list(state.window)
        return _report(route, reference, window, self.config)


def _report(
    route: str, reference: list[Observation], window: list[Observation], config: MonitorConfig
) -> RouteDrift:
    raw, changes = signals(reference, window)
    ready = len(reference) >= config.reference_size and len(window) >= config.min_window
    drifting = judge(changes, config.thresholds) if ready else ()
    status = "warming up" if not ready else ("drifting" if drifting else "ok")
    return RouteDrift(route, len(reference), len(window), raw, changes, drifting, status)


def replay(
    route: str, observations: list[Observation], config: MonitorConfig, every: int = 10
) -> list[tuple[int, RouteDrift]]:
    """(queries seen, report) after every ``every`` answers past the reference: the history
    ``hybrid monitor`` tables and plots."""
    reference = observations[: config.reference_size]
    history = []
    for end in range(config.reference_size + every, len(observations) + 1, every):
        window = observations[max(config.reference_size, end - config.window_size) : end]
        history.append((end, _report(route, reference, window, config)))
    return history
