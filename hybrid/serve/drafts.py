"""``POST /v1/drafts``: an instruction (+ collections) -> a draft with footnote citations."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from hybrid.answer.footnotes import footnoted
from hybrid.serve.deps import (
    Caller,
    ServicesDep,
    check_collections,
    check_max_tokens,
    check_route,
)
from hybrid.serve.generation import run_to_end
from hybrid.serve.responses import Draft
from hybrid.serve.schemas import DraftRequest

api = APIRouter()


@api.post("/v1/drafts", response_model=Draft)
async def draft(body: DraftRequest, who: Caller, s: ServicesDep) -> dict:
    s.auth.require(who, "draft")
    route = check_route(s, who, body.route)
    if route.draft_template is None:
        raise HTTPException(400, f"route: {body.route!r} has no draft_template; it answers chat")
    collections = check_collections(s, who, None, body.collections)
    limit = check_max_tokens(s, body.max_tokens, "max_tokens")
    messages = [{"role": "user", "content": body.instruction}]
    limit = limit or s.config.serve.limits.max_new_tokens
    run, answer, reason = await run_to_end(
        s, who, body.route, messages, collections, limit, kind="draft"
    )
    draft_text, footnotes, points = footnoted(answer)
    documents: dict[tuple[str, str], set[int]] = {}
    for note in footnotes:
        pages = documents.setdefault((note["collection"], note["document"]), set())
        if note["page"] is not None:
            pages.add(note["page"])
    return {
        "id": run.id,
        "route": body.route,
        "draft": draft_text,
        "points": points,
        "footnotes": footnotes,
        "named_documents": list(run.comp.named),  # the documents the instruction named
        "documents": [
            {"collection": c, "document": d, "pages": sorted(p)}
            for (c, d), p in sorted(documents.items())
        ],
        "refused": answer.refused,
        "finish_reason": reason,
        "retrieval": run.retrieval(answer)
        | {"collections": [c for c in collections or route.collections if who.may_read(c)]},
        "usage": run.usage(),
    }
