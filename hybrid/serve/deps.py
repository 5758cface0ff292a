"""What every request handler gets: the app's services, the caller, and the checks endpoints share
(route, collections, token limits, the key's concurrency slot)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from hybrid.answer.clauses import ClauseFlagger
from hybrid.answer.router import Router
from hybrid.answer.triage import Triager
from hybrid.config import HybridConfig, RouteConfig
from hybrid.errors import Invalid
from hybrid.knowledge.embedder import Embedder
from hybrid.models.promotions import Served
from hybrid.monitor.drift import DriftMonitor
from hybrid.monitor.ledger import Ledger
from hybrid.runtime.engine import Engine
from hybrid.serve.auth import Auth, Principal
from hybrid.serve.budget import TokenBudget
from hybrid.serve.metrics import Metrics


@dataclass
class Services:
    """Everything a request handler needs, built once per app and passed explicitly."""

    config: HybridConfig
    engine: Engine
    answers: Router  # the answer path (hybrid.answer.router), not a FastAPI APIRouter
    auth: Auth
    budget: TokenBudget = field(default_factory=TokenBudget)
    ledger: Ledger | None = None  # every answer, and the feedback on it (monitor.record)
    drift: DriftMonitor | None = None
    feedback_budget: TokenBudget = field(default_factory=TokenBudget)  # set per config
    # POST /v1/triage and /v1/clauses (recipe keys triage:, clauses:): get() is the model
    # served now (the promoted one, with serve.require_promotion).
    triager: Served[Triager] | None = None
    flagger: Served[ClauseFlagger] | None = None
    metrics: Metrics = field(default_factory=Metrics)
    started: float = field(default_factory=time.time)
    _ingest: dict[str, tuple[threading.Lock, Embedder | None]] = field(default_factory=dict)
    _ingest_guard: threading.Lock = field(default_factory=threading.Lock)

    def ingest_slot(self, collection: str) -> tuple[threading.Lock, Embedder]:
        """The collection's own upload lock and embedder: an upload to one collection never
        waits for another's (no server-wide lock, none held while a file lock is awaited),
        and never shares a tokenizer with queries or other uploads (fast tokenizers are not
        thread-safe). Created on the collection's first upload."""
        with self._ingest_guard:  # held only to look up or create the pair, never to ingest
            lock, embedder = self._ingest.get(collection, (threading.Lock(), None))
            if embedder is None:
                embedder = Embedder(self.config.embedder)
            self._ingest[collection] = (lock, embedder)
        return lock, embedder


def services(request: Request) -> Services:
    return request.app.state.services


def principal(request: Request, s: Services = Depends(services)) -> Principal:
    return s.auth.identify(request)


ServicesDep = Annotated[Services, Depends(services)]
Caller = Annotated[Principal, Depends(principal)]


def check_route(s: Services, who: Principal, name: str) -> RouteConfig:
    if name not in s.config.routes:
        known = ", ".join(sorted(r for r in s.config.routes if who.may_use_route(r)))
        raise HTTPException(404, f"model: unknown route {name!r} (known: {known or 'none'})")
    if not who.may_use_route(name):
        raise HTTPException(403, f"key {who.name!r} may not use route {name!r}")
    return s.config.routes[name]


def check_collections(
    s: Services, who: Principal, route: RouteConfig | None, wanted: list[str] | None
) -> list[str] | None:
    """Explicitly requested collections narrow the route's (drafts: any readable collection);
    each must exist and be readable. An empty list would switch grounding off: refused."""
    if wanted is None:
        return None
    if not wanted:
        raise HTTPException(400, "collections: give at least one, or leave the field out")
    for name in wanted:
        try:
            exists = s.answers.has_collection(name)
        except Invalid as error:  # "" or "../x": a bad request, never a server error
            raise HTTPException(400, f"collections: {error}") from None
        if route is not None and name not in route.collections:
            shown = [c for c in route.collections if who.may_read(c)]  # never name the rest
            raise HTTPException(400, f"collections: {name!r} is not read by this route ({shown})")
        if not who.may_read(name):
            raise HTTPException(403, f"key {who.name!r} may not read collection {name!r}")
        if not exists:
            raise HTTPException(404, f"collections: {name!r} does not exist")
    return wanted


def check_max_tokens(s: Services, value: int | None, field: str) -> int | None:
    cap = s.config.serve.limits.max_new_tokens
    if value is not None and value > cap:
        raise HTTPException(400, f"{field}: {value} is over the server limit {cap}")
    return value


def acquire(s: Services, who: Principal) -> None:
    """Take one of the key's concurrency slots (429 beyond them, counted in metrics)."""
    try:
        s.auth.acquire(who)
    except HTTPException:
        s.metrics.rejected.labels("key_concurrency").inc()
        raise
