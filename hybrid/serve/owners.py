"""Knowledge owners: their page (``/owners``), a retrieval preview (``POST /v1/retrieve``) and
how far the adapters' training collections have moved (``GET /v1/adapters``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from hybrid.models.cards import read_card
from hybrid.monitor.staleness import staleness
from hybrid.serve.deps import Caller, ServicesDep, check_collections, check_route
from hybrid.serve.responses import AdapterList, Preview
from hybrid.serve.schemas import PreviewRequest

api = APIRouter()
STATIC = Path(__file__).parent / "static"


@api.get("/owners", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "owners.html", media_type="text/html")


@api.post("/v1/retrieve", response_model=Preview)
async def preview(body: PreviewRequest, who: Caller, s: ServicesDep) -> dict:
    """The evidence the route would number for the model (sentences or chunks, best first),
    searched only in collections the key may read; nothing is generated or recorded."""
    s.auth.require(who, "chat")
    route = check_route(s, who, body.route)
    collections = check_collections(s, who, route, body.collections)
    found = await run_in_threadpool(
        s.answers.retrieve, body.route, body.question, who.may_read, collections
    )
    hits = [
        {
            "n": n,
            "collection": h.collection,
            "document": h.chunk.doc_id,
            "pages": h.chunk.pages or None,
            "heading": h.chunk.heading,
            "text": h.chunk.text,
            "score": round(h.chunk.score, 4),
            "similarity": None if h.chunk.similarity is None else round(h.chunk.similarity, 4),
            "chunk_id": h.chunk.chunk_id,
        }
        for n, h in enumerate(found.hits, start=1)
    ]
    best = found.best_similarity
    return {
        "route": body.route,
        "refused": found.refused,
        "best_similarity": None if best is None else round(best, 4),
        "hits": hits,
    }


@api.get("/v1/adapters", response_model=AdapterList)
def adapters(who: Caller, s: ServicesDep) -> dict:
    """Loaded adapters, the routes they answer, and their staleness (``monitor.stale_share``)."""
    s.auth.require(who, "documents")
    out = []
    for name, folder in s.config.runtime.adapters.items():
        try:
            card = read_card(folder)
        except FileNotFoundError:
            continue  # an adapter trained elsewhere: nothing recorded to compare
        routes = [
            r
            for r, route in s.config.routes.items()
            if name in (route.adapter, route.draft_adapter)
        ]
        moved = staleness(card, s.config.index_dir, s.config.monitor.stale_share)
        out.append(
            {
                "name": name,
                "base_model": card.base_model,
                "created_at": card.created_at,
                "routes": routes,
                "staleness": [asdict(m) for m in moved],
            }
        )
    return {"adapters": out}
