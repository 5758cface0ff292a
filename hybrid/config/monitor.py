"""Configuration of the feedback loop: the answer ledger, agents' feedback, drift and staleness."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from hybrid.schema import Strict


class DriftThresholds(Strict):
    """A route drifts when any signal of its recent window passes its threshold.

    The embedding signals compare the recent queries with the reference ones. Measured with
    MiniLM on the KB questions (evals/data/kb, 23 shops' policies): a window of 50 other KB
    questions sits 0.05 from a reference of 100 in centroid distance (squared MMD 0.02);
    50 CUAD clause questions 0.58 (0.21), 50 PolicyQA questions 0.75 (0.23). Over every full
    window of 132 further KB questions the largest values were: centroid 0.064, MMD 0.025, PSI
    0.28 (PSI is noisy at 50 queries: the textbook 0.25 would cry wolf). Switching to CUAD
    questions crosses PSI after 11 queries, the centroid after 17, MMD after 23
    (tests/monitor/test_drift.py).
    """

    embedding_shift: float = Field(0.15, gt=0, le=2)  # 1 - cosine of the two centroids
    mmd: float = Field(0.06, gt=0)  # squared MMD, RBF kernel exp(-|a - b|^2) on unit vectors
    similarity_psi: float = Field(0.4, gt=0)  # the best retrieval similarity's PSI (5 bins)
    refusal_rate: float = Field(0.2, gt=0, le=1)  # rise over the reference's rate
    verified_rate: float = Field(0.2, gt=0, le=1)  # fall below the reference's rate
    thumbs_down_rate: float = Field(0.3, gt=0, le=1)  # share of the window's ratings, absolute


class MonitorConfig(Strict):
    """Every answer is kept (question, evidence, versions, answer, citations) so agents can rate
    it and drift can be measured; feedback limits protect the store from floods."""

    # SQLite (WAL) beside the index root; default: ``<index_dir>.ledger.sqlite``.
    ledger: Path | None = None
    record: bool = True  # False: no ledger, no feedback, no drift (the endpoints answer 404)
    reference_size: int = Field(200, gt=1)  # a route's first N queries are its reference
    window_size: int = Field(50, gt=1)  # the recent queries compared with it
    min_window: int = Field(50, gt=1)  # fewer recent queries than this: no verdict yet
    thresholds: DriftThresholds = DriftThresholds()
    stale_share: float = Field(0.2, gt=0, le=1)  # collections changed beyond this: retrain
    feedback_per_minute: int = Field(30, gt=0)  # per key, sliding window; beyond it 429
    max_comment_chars: int = Field(2000, gt=0)  # beyond it 413
    max_correction_chars: int = Field(4000, gt=0)

    @model_validator(mode="after")
    def _window_fits(self) -> MonitorConfig:
        if self.min_window > self.window_size:
            raise ValueError(
                f"min_window ({self.min_window}) must be <= window_size ({self.window_size})"
            )
        return self

    def ledger_path(self, index_dir: Path) -> Path:
        """Where the ledger lives: ``ledger``, or beside the index root."""
        return self.ledger or Path(index_dir).with_name(Path(index_dir).name + ".ledger.sqlite")
