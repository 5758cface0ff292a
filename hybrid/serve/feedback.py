"""The loop's endpoints: ``POST /v1/feedback`` (agents rate an answer, optionally correct it) and
``GET /v1/monitor`` (drift per route); ``record`` puts every finished answer in the ledger."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict

from fastapi import APIRouter, HTTPException

from hybrid.answer.router import Answer, Composition
from hybrid.config import HybridConfig
from hybrid.monitor.drift import DriftMonitor, Observation
from hybrid.monitor.ledger import AnswerRecord, Evidence, Ledger
from hybrid.serve.deps import Caller, Services, ServicesDep
from hybrid.serve.responses import FeedbackStored, MonitorReport
from hybrid.serve.schemas import FeedbackRequest

api = APIRouter()


def open_monitoring(config: HybridConfig) -> tuple[Ledger | None, DriftMonitor | None]:
    """The ledger and a drift monitor seeded from it (a restart keeps each route's reference
    and recent window); (None, None) with ``monitor.record: false``."""
    if not config.monitor.record:
        return None, None
    path = config.monitor.ledger_path(config.index_dir)
    try:
        ledger = Ledger(path)
    except (OSError, sqlite3.Error) as error:  # e.g. the index root's volume is read-only
        raise ValueError(
            f"monitor.ledger: cannot open {path} ({error}); set monitor.ledger to a writable "
            "path, or monitor.record: false"
        ) from None
    drift = DriftMonitor(config.monitor)
    for route in ledger.routes():
        head = ledger.answers(route, first=config.monitor.reference_size)
        seen = {a.id for a, _ in head}
        tail = ledger.answers(route, last=config.monitor.window_size)
        for record_, rating in head + [(a, r) for a, r in tail if a.id not in seen]:
            if record_.id.startswith("chatcmpl-"):  # answers; drafts are not questions
                drift.observe(route, Observation.of(record_, rating))
    return ledger, drift


def record(
    s: Services, answer_id: str, key: str, question: str, comp: Composition, answer: Answer
) -> None:
    """Ledger the answer (before the client reads its id) and feed the drift monitor."""
    if s.ledger is None:
        return
    collections = sorted({src.collection for src in comp.sources})
    entry = AnswerRecord(
        id=answer_id,
        route=comp.route,
        key=key,
        question=question,
        prompt=tuple(comp.messages),
        answer=answer.text,
        refused=answer.refused,
        best_similarity=comp.best_similarity,
        cited=len(answer.citations),
        verified=sum(bool(c["verified"]) for c in answer.citations),
        evidence=tuple(
            Evidence(
                src.n, src.chunk.chunk_id, src.chunk.doc_id, src.collection, src.chunk.pages or None
            )
            for src in comp.sources
        ),
        versions={c: v for c, v in comp.versions.items() if c in collections},
        citations=tuple(answer.citations),
        adapter=comp.adapter,
        vector=comp.query_vector,
    )
    s.ledger.record(entry)
    if s.drift is not None and answer_id.startswith("chatcmpl-"):
        s.drift.observe(comp.route, Observation.of(entry))


@api.post("/v1/feedback", response_model=FeedbackStored, status_code=201)
def feedback(body: FeedbackRequest, who: Caller, s: ServicesDep) -> dict:
    """Rate an answer by the id the chat (or drafts) response gave; a correction becomes a
    training example (``hybrid feedback export``)."""
    s.auth.require(who, "chat")
    if s.ledger is None:
        raise HTTPException(404, "feedback is switched off (monitor.record: false)")
    limits = s.config.monitor
    for field, text, cap in (
        ("comment", body.comment, limits.max_comment_chars),
        ("correction", body.correction, limits.max_correction_chars),
    ):
        if text is not None and len(text) > cap:
            raise HTTPException(
                413, f"{field}: {len(text)} characters is over monitor.max_{field}_chars ({cap})"
            )
    s.feedback_budget.charge(who, 1)
    answer = s.ledger.get(body.answer_id)
    if answer is None or not who.may_use_route(answer.route):  # never confirm another's id
        raise HTTPException(404, f"answer_id: no answer {body.answer_id!r}")
    rating = 1 if body.rating == "up" else -1
    stored = s.ledger.add_feedback(answer.id, who.name, rating, body.correction, body.comment)
    if s.drift is not None:
        s.drift.rate(answer.id, rating)
    s.metrics.feedback.labels(answer.route, body.rating).inc()
    return {
        "id": stored.id,
        "answer_id": answer.id,
        "route": answer.route,
        "rating": body.rating,
        "corrected": stored.correction is not None,
    }


@api.get("/v1/monitor", response_model=MonitorReport)
def monitor(who: Caller, s: ServicesDep) -> dict:
    """Drift per route: the window's signals, what the thresholds judge, and the verdict."""
    s.auth.require(who, "metrics")
    if s.drift is None:
        raise HTTPException(404, "monitoring is switched off (monitor.record: false)")
    thresholds = s.config.monitor.thresholds.model_dump()
    routes = [
        asdict(s.drift.report(r)) | {"thresholds": thresholds}
        for r in s.drift.routes()
        if who.may_use_route(r)
    ]
    return {"routes": routes}


def export_gauges(s: Services) -> None:
    """Drift signals into the Prometheus gauges (called when /metrics is scraped)."""
    if s.drift is None:
        return
    for route in s.drift.routes():
        report = s.drift.report(route)
        for name, value in report.changes.items():
            if value is not None:
                s.metrics.drift.labels(route, name).set(value)
        s.metrics.drifting.labels(route).set(1.0 if report.drifting else 0.0)
