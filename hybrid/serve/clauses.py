"""``POST /v1/clauses``: a contract's risky clauses, flagged with page, offsets, confidence,
risk and a verified verbatim quote. The contract is the request body (``?filename=`` names
its kind), or a document already in a collection the key may read."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hybrid.knowledge import store
from hybrid.knowledge.loaders import LoadError, check_doc_id, load_bytes
from hybrid.serve.deps import Caller, ServicesDep
from hybrid.serve.documents import check_collection

api = APIRouter()


# Response models live here rather than in responses.py: only this endpoint returns them.
class ClauseFlagOut(BaseModel):
    type: str
    risk: str
    confidence: float
    page: int | None
    char_start: int
    char_end: int
    quote: str
    label: str  # the claim verifier's label for the quote against its page


class ClausesReply(BaseModel):
    document: str
    pages: int | None
    passages: int
    types: list[str]
    missing: list[str]  # types looked for and not found
    flags: list[ClauseFlagOut]


def _contract(
    s, who, body: bytes, filename: str | None, collection: str | None, document: str | None
):
    """The contract as a ``LoadedDocument``: the body, or a collection's document."""
    if (filename is None) == (collection is None):
        raise HTTPException(
            400, "query: give filename= (the contract is the body) or collection= and document="
        )
    if collection is not None:
        if not document:
            raise HTTPException(400, "document: name the collection's document to flag")
        check_collection(s, who, collection, "draft")
        try:
            return store.read_document(
                store.collection_dir(s.config.index_dir, collection), document
            )
        except FileNotFoundError:
            raise HTTPException(404, f"collection {collection!r} does not exist") from None
        except KeyError:
            raise HTTPException(
                404, f"collection {collection!r} has no document {document!r}"
            ) from None
    if not body:
        raise HTTPException(400, "body: empty; send the contract's bytes")
    try:
        doc_id = check_doc_id(filename)
        return load_bytes(body, doc_id, s.config.ingest)
    except LoadError as error:
        raise HTTPException(422, f"contract {filename!r} cannot be read: {error}") from None
    except ValueError as error:
        raise HTTPException(400, f"filename: {error}") from None


@api.post("/v1/clauses", response_model=ClausesReply)
async def clauses(
    request: Request,
    who: Caller,
    s: ServicesDep,
    filename: str | None = None,
    collection: str | None = None,
    document: str | None = None,
) -> dict:
    s.auth.require(who, "draft")
    if s.flagger is None:
        raise HTTPException(404, "clause flags are not configured (recipe key `clauses:`)")
    body = await request.body()  # BodyLimit has capped it at serve.limits.max_upload_mb
    doc = await run_in_threadpool(_contract, s, who, body, filename, collection, document)
    cap = s.config.serve.limits.max_contract_chars
    if len(doc.text) > cap:
        raise HTTPException(
            413,
            f"contract: {len(doc.text)} characters of text is over "
            f"serve.limits.max_contract_chars ({cap})",
        )
    flagger = await run_in_threadpool(s.flagger.get)  # loads a newly promoted one once
    report = await run_in_threadpool(flagger.flag, doc)
    return {
        "document": report.document,
        "pages": report.pages,
        "passages": report.passages,
        "types": list(report.types),
        "missing": [t for t in report.types if not report.found(t)],
        "flags": [f.__dict__ for f in report.flags],
    }
