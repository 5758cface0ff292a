"""Prometheus metrics of one app (its own registry: no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
SIMILARITY = tuple(round(0.1 * i, 1) for i in range(-2, 11))


class Metrics:
    """Counters and histograms; ``render()`` gives the text exposition format.

    Citation verification rate in PromQL: ``sum(rate(hybrid_citations_total{verified="true"}
    [5m])) / sum(rate(hybrid_citations_total[5m]))``
    """

    def __init__(self) -> None:
        # Over 60 lines: one declaration per metric, read as the list of what is exported.
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "hybrid_requests", "HTTP requests", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "hybrid_request_seconds", "Request latency", ["endpoint"], buckets=LATENCY, registry=r
        )
        self.first_token = Histogram(
            "hybrid_time_to_first_token_seconds",
            "Request start to first generated text",
            ["route"],
            buckets=LATENCY,
            registry=r,
        )
        self.tokens = Counter("hybrid_tokens", "Tokens processed", ["route", "kind"], registry=r)
        self.similarity = Histogram(
            "hybrid_retrieval_best_similarity",
            "Best query-chunk cosine per request",
            ["route"],
            buckets=SIMILARITY,
            registry=r,
        )
        self.dropped = Counter(
            "hybrid_chunks_dropped", "Chunks left out to fit the context", ["route"], registry=r
        )
        self.citations = Counter(
            "hybrid_citations", "Citations returned", ["route", "verified", "origin"], registry=r
        )
        self.removed = Counter(
            "hybrid_citations_removed",
            "Citations to numbers not in the context",
            ["route"],
            registry=r,
        )
        self.unsupported = Counter(
            "hybrid_unsupported_sentences",
            "Answer sentences that did not verify (contradicted or unsupported), short ones too",
            ["route"],
            registry=r,
        )
        self.refusals = Counter(
            "hybrid_refusals",
            "Answers that said the documents do not cover it",
            ["route"],
            registry=r,
        )
        self.rejected = Counter(
            "hybrid_rejected", "Requests turned away (429/503)", ["reason"], registry=r
        )
        self.queue = Gauge("hybrid_engine_queue", "Requests waiting for the engine", registry=r)
        self.feedback = Counter(
            "hybrid_feedback", "Ratings agents gave answers", ["route", "rating"], registry=r
        )
        self.drift = Gauge(
            "hybrid_drift_signal",
            "Drift signal of the route's recent window against its reference (GET /v1/monitor)",
            ["route", "signal"],
            registry=r,
        )
        self.drifting = Gauge(
            "hybrid_drifting", "1 when a drift signal passes its threshold", ["route"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
