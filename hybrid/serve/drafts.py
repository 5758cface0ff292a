"""``POST /v1/drafts``: an instruction (+ collections) -> a draft with footnote citations."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from hybrid.citations import parse
from hybrid.claims import SEVERITY
from hybrid.router import Answer
from hybrid.serve.app import Services, principal, services
from hybrid.serve.auth import Principal
from hybrid.serve.chat import Run, acquire, check_collections, check_max_tokens, check_route
from hybrid.serve.schemas import DraftRequest

router = APIRouter()


@router.post("/v1/drafts")
async def draft(
    body: DraftRequest, who: Principal = Depends(principal), s: Services = Depends(services)
) -> dict:
    s.auth.require(who, "draft")
    route = check_route(s, who, body.route)
    if route.draft_template is None:
        raise HTTPException(400, f"route: {body.route!r} has no draft_template; it answers chat")
    collections = check_collections(s, who, None, body.collections)
    limit = check_max_tokens(s, body.max_tokens, "max_tokens")
    acquire(s, who)
    run: Run | None = None
    try:
        messages = [{"role": "user", "content": body.instruction}]
        limit = limit or s.config.serve.limits.max_new_tokens
        run = await Run.start(s, who, body.route, messages, collections, limit, kind="draft")
        text, reason = await run.collect()
        answer = await run.finish(text)
    finally:
        if run is None:
            s.auth.release(who)
        else:
            run.close()  # also cancels generation when the client went away
    draft_text, footnotes, points = footnoted(answer)
    documents: dict[tuple[str, str], set[int]] = {}
    for note in footnotes:
        pages = documents.setdefault((note["collection"], note["document"]), set())
        if note["page"] is not None:
            pages.add(note["page"])
    return {
        "id": run.id.replace("chatcmpl", "draft"),
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


def footnoted(answer: Answer) -> tuple[str, list[dict], list[dict]]:
    """Number the draft's sentences as points and turn chunk numbers [n] into footnotes [^1],
    [^2]... numbered by first use; sentences the verifier attributed get their footnote too.
    Each footnote quotes the source sentence that supports the point, on its own page.

    Example: ``"Fees are due monthly [3]."`` -> ``"1. Fees are due monthly[^1]"`` + footnote 1.
    """
    by_chunk = {c["n"]: c for c in answer.citations}
    order: dict[int, int] = {}
    points = []
    for sentence in parse(answer.text, max(by_chunk, default=0)).sentences:
        chunks = [n for n in sentence.cited if n in by_chunk]
        checks = [
            (c["n"], x)
            for c in answer.citations
            for x in c["sentences"]
            if x["text"] == sentence.text
        ]
        chunks += [n for n, _ in checks if n not in chunks]  # attributed by the verifier
        marks = [order.setdefault(n, len(order) + 1) for n in chunks]
        labels = [x["label"] for _, x in checks]
        points.append(
            {
                "n": len(points) + 1,
                "text": sentence.text,
                "label": max(labels, key=SEVERITY.index) if labels else None,
                "footnotes": marks,
            }
        )
    text = "\n".join(
        f"{p['n']}. {p['text']}" + "".join(f"[^{m}]" for m in p["footnotes"]) for p in points
    )
    footnotes = []
    for n, m in sorted(order.items(), key=lambda item: item[1]):
        c = by_chunk[n]
        support = next((x["evidence"] for x in c["sentences"] if x["evidence"]), None)
        page = support["page"] if support else c["page"]
        where = f", page {page}" if page is not None else ""
        footnotes.append(
            {
                "n": m,
                "label": f"[^{m}]: {c['document']}{where}",
                "document": c["document"],
                "collection": c["collection"],
                "page": page,
                "pages": c["pages"],
                "snippet": support["snippet"] if support else c["snippet"],
                "verified": c["verified"],
                "origin": c["origin"],
            }
        )
    return text, footnotes, points
