"""Knowledge owners: upload / replace / delete documents, inspect collections. No restart."""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from hybrid.errors import Conflict
from hybrid.knowledge import store
from hybrid.knowledge.loaders import SUPPORTED, LoadError, check_doc_id
from hybrid.knowledge.sync import CollectionLocked, collection_info, delete_document, put_document
from hybrid.serve.auth import Principal
from hybrid.serve.deps import Caller, Services, ServicesDep
from hybrid.serve.responses import CollectionInfo, CollectionList, Deleted, Uploaded

api = APIRouter()


def check_collection(s: Services, who: Principal, collection: str, capability: str) -> None:
    """403 without the capability or read access to the collection; 400 for a bad name."""
    s.auth.require(who, capability)
    try:
        store.check_name(collection)
    except ValueError as error:
        raise HTTPException(400, f"collection: {error}") from None
    if not who.may_read(collection):
        raise HTTPException(403, f"key {who.name!r} may not access collection {collection!r}")


def _doc_id(path: str) -> str:
    try:
        doc_id = check_doc_id(path)
    except ValueError as error:
        raise HTTPException(400, f"path: {error}") from None
    suffix = PurePosixPath(doc_id).suffix.lower()
    if suffix not in SUPPORTED:
        raise HTTPException(
            415,
            f"path: unsupported extension {suffix or '(none)'!r}; use one of {sorted(SUPPORTED)}",
        )
    return doc_id


@api.get("/v1/collections", response_model=CollectionList)
def list_collections(who: Caller, s: ServicesDep) -> dict:
    names = [c for c in store.list_collections(s.config.index_dir) if who.may_read(c)]
    return {"collections": names}


@api.get("/v1/collections/{collection}", response_model=CollectionInfo)
def show(collection: str, who: Caller, s: ServicesDep) -> dict:
    check_collection(s, who, collection, "documents")
    try:
        info = collection_info(store.collection_dir(s.config.index_dir, collection))
    except FileNotFoundError:
        raise HTTPException(404, f"collection {collection!r} does not exist") from None
    documents = [
        {
            "document": d.doc_id,
            "kind": d.kind,
            "pages": d.n_pages,
            "chunks": d.n_chunks,
            "bytes": d.size_bytes,
            "content_hash": d.content_hash,
            "indexed_at": d.indexed_at,
            # "api" (uploaded here) or "folder" (a CLI folder sync; the server's paths are its own)
            "origin": (d.origin or "unknown").split(":", 1)[0],
        }
        for d in info.documents
    ]
    return {
        "collection": collection,
        "version": info.version,
        "documents": documents,
        "chunks": info.chunks,
        "last_sync": info.last_sync,
        "embedder": info.meta.embedder,
        "sync": info.meta.last_sync.model_dump() if info.meta.last_sync else None,
    }


@api.put(
    "/v1/collections/{collection}/documents/{path:path}",
    response_model=Uploaded,
    status_code=201,  # 200 when the document was there before
)
async def upload(
    collection: str,
    path: str,
    request: Request,
    response: Response,
    who: Caller,
    s: ServicesDep,
) -> dict:
    check_collection(s, who, collection, "documents")
    doc_id = _doc_id(path)
    data = await request.body()  # BodyLimit has capped it at serve.limits.max_upload_mb
    if not data:
        raise HTTPException(400, "body: empty; send the document's bytes")

    def ingest():
        lock, embedder = s.ingest_slot(collection)
        with lock:
            return put_document(collection, doc_id, data, s.config.knowledge, embedder)

    try:
        report = await run_in_threadpool(ingest)
    except LoadError as error:
        raise HTTPException(422, f"document {doc_id!r} cannot be indexed: {error}") from None
    except Conflict as error:  # locked by a sync, or built with another embedder
        raise HTTPException(409, str(error)) from None
    if doc_id in report.failed:  # e.g. over ingest.max_chunks: the previous version stays
        raise HTTPException(422, f"document {doc_id!r} cannot be indexed: {report.failed[doc_id]}")
    status = "added" if report.added else "updated" if report.updated else "unchanged"
    response.status_code = 201 if report.added else 200
    return {
        "collection": collection,
        "document": doc_id,
        "status": status,
        "chunks_embedded": report.chunks_embedded,
        "chunks_reused": report.chunks_reused,
        "version": report.version,
        "seconds": round(report.seconds, 3),
    }


@api.delete("/v1/collections/{collection}/documents/{path:path}", response_model=Deleted)
async def delete(collection: str, path: str, who: Caller, s: ServicesDep) -> dict:
    check_collection(s, who, collection, "documents")
    try:
        doc_id = check_doc_id(path)
    except ValueError as error:
        raise HTTPException(400, f"path: {error}") from None

    if store.current_version(store.collection_dir(s.config.index_dir, collection)) is None:
        raise HTTPException(404, f"collection {collection!r} does not exist")

    def remove():
        lock, embedder = s.ingest_slot(collection)
        with lock:
            return delete_document(collection, doc_id, s.config.knowledge, embedder)

    try:
        report = await run_in_threadpool(remove)
    except KeyError:
        raise HTTPException(404, f"collection {collection!r} has no document {doc_id!r}") from None
    except CollectionLocked as error:
        raise HTTPException(409, str(error)) from None
    return {
        "collection": collection,
        "document": doc_id,
        "status": "deleted",
        "version": report.version,
    }
