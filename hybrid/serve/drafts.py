"""``POST /v1/drafts``: an instruction (+ collections) -> a draft with footnote citations."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, HTTPException

from hybrid.citations import CITATION
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
    draft_text, footnotes = footnoted(answer)
    documents: dict[tuple[str, str], set[int]] = {}
    for note in footnotes:
        pages = documents.setdefault((note["collection"], note["document"]), set())
        if note["page"] is not None:
            pages.add(note["page"])
    return {
        "id": run.id.replace("chatcmpl", "draft"),
        "route": body.route,
        "draft": draft_text,
        "footnotes": footnotes,
        "documents": [
            {"collection": c, "document": d, "pages": sorted(p)}
            for (c, d), p in sorted(documents.items())
        ],
        "refused": answer.refused,
        "finish_reason": reason,
        "retrieval": run.retrieval(answer)
        | {"collections": collections or list(route.collections)},
        "usage": run.usage(),
    }


def footnoted(answer: Answer) -> tuple[str, list[dict]]:
    """Turn chunk numbers [n] into footnotes [^1], [^2]... numbered by first use; sentences
    the verifier attributed get their footnote appended.

    Example: ``"Fees are due monthly [3]."`` -> ``"Fees are due monthly [^1]."`` + footnote 1.
    """
    by_chunk = {c["n"]: c for c in answer.citations}
    order: dict[int, int] = {}

    def number(n: int) -> int:
        return order.setdefault(n, len(order) + 1)

    def replace(match: re.Match[str]) -> str:
        chunks = [int(n) for n in match.group(1).split(",") if int(n) in by_chunk]
        return "".join(f"[^{number(n)}]" for n in chunks)

    text = CITATION.sub(replace, answer.text)
    for citation in answer.citations:
        for sentence in citation["sentences"]:
            if citation["origin"] == "attributed" and sentence["text"] in text:
                marker = f"[^{number(citation['n'])}]"
                at = text.index(sentence["text"]) + len(sentence["text"])
                text = text[:at] + marker + text[at:]
    footnotes = []
    for n, m in sorted(order.items(), key=lambda item: item[1]):
        c = by_chunk[n]
        where = f", page {c['pages']}" if c["pages"] else ""
        footnotes.append(
            {
                "n": m,
                "label": f"[^{m}]: {c['document']}{where}",
                "document": c["document"],
                "collection": c["collection"],
                "page": c["page"],
                "pages": c["pages"],
                "snippet": c["snippet"],
                "verified": c["verified"],
                "origin": c["origin"],
            }
        )
    return text, footnotes
