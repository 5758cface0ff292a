"""``POST /v1/triage``: a support ticket's intent, category, team and summary, and a draft reply
with verified citations from the triage route (the chat path, recorded in the ledger)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from hybrid.serve.deps import Caller, ServicesDep, check_route
from hybrid.serve.generation import run_to_end
from hybrid.serve.responses import TriageReply
from hybrid.serve.schemas import TriageRequest

api = APIRouter()


@api.post("/v1/triage", response_model=TriageReply)
async def triage(body: TriageRequest, who: Caller, s: ServicesDep) -> dict:
    s.auth.require(who, "chat")
    if s.triager is None:
        raise HTTPException(404, "triage is not configured (recipe key `triage:`)")
    cap = s.config.serve.limits.max_ticket_chars
    if len(body.ticket) > cap:
        raise HTTPException(
            413,
            f"ticket: {len(body.ticket)} characters is over serve.limits.max_ticket_chars ({cap})",
        )
    triager = await run_in_threadpool(s.triager.get)  # loads a newly promoted one once
    found = await run_in_threadpool(triager.triage, body.ticket)
    reply = {
        "intent": found.intent,
        "intent_probability": found.intent_probability,
        "alternatives": [{"intent": i, "probability": p} for i, p in found.alternatives],
        "category": found.category,
        "category_probability": found.category_probability,
        "team": found.team,
        "summary": found.summary,
        "metadata": body.metadata,
        "draft": None,
    }
    route_name = s.config.triage.route if s.config.triage else None
    if not body.draft or route_name is None:
        return reply
    check_route(s, who, route_name)
    messages = [{"role": "user", "content": body.ticket}]
    run, answer, _ = await run_to_end(s, who, route_name, messages, None, None)
    reply["draft"] = {
        "id": run.id,  # rate it like any answer: POST /v1/feedback
        "route": route_name,
        "text": answer.text,
        "refused": answer.refused,
        "citations": list(answer.citations),
    }
    return reply
