"""``POST /v1/verify``: check any text (a draft a person or a model wrote) against collections."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from hybrid.answer import claims
from hybrid.serve.deps import Caller, ServicesDep, acquire, check_collections, check_route
from hybrid.serve.responses import Verification
from hybrid.serve.schemas import VerifyRequest

api = APIRouter()


@api.post("/v1/verify", response_model=Verification)
async def verify(body: VerifyRequest, who: Caller, s: ServicesDep) -> dict:
    """Each sentence of ``text`` labelled quoted / supported / contradicted / unsupported,
    with the source sentence it aligned to (document, page, snippet, offsets)."""
    s.auth.require(who, "draft")  # legal and above, as for drafts
    check_route(s, who, body.route)
    collections = check_collections(s, who, None, body.collections) or []
    acquire(s, who)
    try:
        judged = await run_in_threadpool(
            s.answers.check_text, body.route, body.text, collections, who.may_read
        )
    finally:
        s.auth.release(who)
    return {"route": body.route, "collections": collections, **claims.report(judged)}
