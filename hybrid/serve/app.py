"""The FastAPI application: services, limits, errors in OpenAI's shape, health, metrics, page."""

from __future__ import annotations

import json
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hybrid.answer.clauses import ClauseFlagger
from hybrid.answer.router import Router
from hybrid.answer.triage import Triager
from hybrid.config import HybridConfig
from hybrid.errors import HybridError, status_of
from hybrid.knowledge.embedder import Embedder
from hybrid.models.promotions import Promotions, Served, check_promoted
from hybrid.runtime.engine import Engine
from hybrid.serve import chat, clauses, documents, drafts, feedback, owners, triage, verify
from hybrid.serve.auth import Auth
from hybrid.serve.budget import TokenBudget
from hybrid.serve.deps import Services
from hybrid.serve.metrics import Metrics
from hybrid.serve.responses import Health

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(config: HybridConfig, engine: Engine, embedder: Embedder) -> FastAPI:
    """Example: ``uvicorn.run(create_app(config, create_engine(config.runtime), embedder))``"""
    from hybrid.knowledge.sync import clean_stale

    for name in clean_stale(config.index_dir):  # debris of syncs killed before this start
        log.info("removed a killed sync's leftovers in collection %s", name)
    s = services_for(config, engine, embedder)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        engine.close()
        if s.ledger is not None:
            s.ledger.close()

    app = FastAPI(title="hybrid", version="0.1.0", lifespan=lifespan)
    app.state.services = s
    for group in (chat, drafts, verify, documents, feedback, owners, triage, clauses):
        app.include_router(group.api)
    _errors(app)
    app.add_middleware(Observe, metrics=s.metrics)
    app.add_middleware(BodyLimit, limits=_body_limits(config))

    @app.get(
        "/healthz", response_model=None, responses={200: {"model": Health}, 503: {"model": Health}}
    )
    def healthz() -> dict | JSONResponse:
        if not engine.alive():
            return JSONResponse({"status": "down", "engine": engine.name}, 503)
        return {
            "status": "ok",
            "engine": engine.name,
            "queue": engine.pending(),
            "routes": sorted(config.routes) if config.serve.metrics_public else None,
            "uptime_s": round(time.time() - s.started, 1),
        }

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        if not config.serve.metrics_public:
            s.auth.require(s.auth.identify(request), "metrics")
        s.metrics.queue.set(engine.pending())
        feedback.export_gauges(s)
        return Response(s.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app


def services_for(config: HybridConfig, engine: Engine, embedder: Embedder) -> Services:
    """What the handlers share: the answer path, keys, the ledger and drift monitor (seeded
    from the ledger), the triage classifier, the clause flagger, and the per-key feedback
    budget."""
    router = Router(config, engine, embedder)
    if router.promotions is not None:
        check_promoted(config, router.promotions)  # refuse to start on an unpromoted adapter
    ledger, drift = feedback.open_monitoring(config)
    return Services(
        config,
        engine,
        router,
        Auth(config.serve),
        ledger=ledger,
        drift=drift,
        triager=served_triager(config, router.promotions),
        flagger=served_flagger(config, router.promotions),
        feedback_budget=TokenBudget(
            limit_of=lambda _: config.monitor.feedback_per_minute,
            unit="feedback posts",
            what="monitor.feedback_per_minute",
        ),
    )


def served_triager(config: HybridConfig, promotions: Promotions | None) -> Served[Triager] | None:
    """The configured classifier, or with promotions the one promoted for ``triage`` now."""
    section = config.triage
    if section is None:
        return None

    def load(folder: Path) -> Triager:
        return Triager.load(section.model_copy(update={"classifier": folder}))

    return Served("triage", section.classifier, load, promotions)


def served_flagger(
    config: HybridConfig, promotions: Promotions | None
) -> Served[ClauseFlagger] | None:
    """The configured clause model, or with promotions the one promoted for ``clauses`` now."""
    section = config.clauses
    if section is None:
        return None
    # Its own embedder: the router's serves queries under the router's lock, and a fast
    # tokenizer may not be shared between threads. Kept across rollbacks (loaded once).
    embedder = Embedder(config.embedder)

    def load(folder: Path) -> ClauseFlagger:
        return ClauseFlagger.load(section.model_copy(update={"model": folder}), embedder)

    return Served("clauses", section.model, load, promotions)


def error_body(message: str, status: int, param: str | None = None) -> dict:
    kind = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}
    kind |= {429: "rate_limit_error", 503: "overloaded_error", 504: "timeout_error"}
    default = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind.get(status, default), "param": param}}


def _errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)  # FastAPI's subclass and Starlette's own
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(str(error.detail), error.status_code),
            error.status_code,
            headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {}
        if first.get("type") == "json_invalid":
            where = first.get("ctx", {}).get("error", "")
            return JSONResponse(error_body(f"body is not valid JSON: {where}", 400), 400)
        parts = []
        for item in problems:
            loc = [str(p) for p in item.get("loc", ()) if p != "body"]
            got = item.get("input")
            shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
            parts.append(f"{'.'.join(loc) or 'body'}: {item.get('msg')}{shown}")
        param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        return JSONResponse(error_body("; ".join(parts), 422, param), 422)

    @app.exception_handler(HybridError)
    async def hybrid_error(_: Request, error: HybridError) -> JSONResponse:
        # Errors raised on purpose below the server: one kind, one status (hybrid/errors.py).
        status = status_of(error)
        headers = {"Retry-After": "1"} if status == 503 else None
        return JSONResponse(error_body(str(error), status), status, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        # A bug, not the client's fault: logged with its traceback, answered in the API's
        # error shape (never Starlette's plain-text page), and the server keeps serving.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body(f"internal error ({type(error).__name__})", 500), 500)


class Observe:
    """Request count and latency per endpoint (whole response, streams included). Plain ASGI:
    Starlette's BaseHTTPMiddleware would wrap errors raised while reading the body in an
    ExceptionGroup, turning a 413 into a 400."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500

        async def observed_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            endpoint = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)


def _body_limits(config: HybridConfig) -> tuple[int, int]:
    limits = config.serve.limits
    return limits.max_body_kb * 1024, int(limits.max_upload_mb * 1024 * 1024)


class BodyLimit:
    """413 before reading a body over the limit (uploads: max_upload_mb; JSON: max_body_kb),
    whether or not the client announced its length."""

    def __init__(self, app, limits: tuple[int, int]):
        self.app, self.json_limit, self.upload_limit = app, *limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        upload = (scope["method"] == "PUT" and "/documents/" in scope["path"]) or (
            scope["method"] == "POST" and scope["path"] == "/v1/clauses"  # a contract's bytes
        )
        limit = self.upload_limit if upload else self.json_limit
        what = "upload" if upload else "request body"
        setting = "max_upload_mb" if upload else "max_body_kb"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _reject(
                send,
                f"{what} of {int(declared)} bytes is over serve.limits.{setting} ({limit} bytes)",
            )
        seen, started = 0, False

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # FastAPI passes an HTTPException raised while reading through
                raise HTTPException(413, f"{what} is over serve.limits.{setting} ({limit} bytes)")
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking_send)
        except HTTPException as error:  # raised outside FastAPI's handlers (a middleware)
            if error.status_code != 413 or started:
                raise
            await _reject(send, str(error.detail))


async def _reject(send, message: str) -> None:
    body = json.dumps(error_body(message, 413)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
