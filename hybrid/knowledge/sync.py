"""Bring a collection in line with a folder (or one upload): embed only what changed."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from filelock import FileLock, Timeout
from tqdm import tqdm

from hybrid.config import KnowledgeConfig
from hybrid.errors import Conflict
from hybrid.knowledge import store
from hybrid.knowledge.builder import Change, SyncReport, apply_changes
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.loaders import (
    PARSER,
    LoadError,
    check_doc_id,
    content_hash,
    load_bytes,
    read_file,
)

__all__ = [
    "Change",
    "CollectionLocked",
    "SyncReport",
    "sync_folder",
    "put_document",
    "delete_document",
    "collection_info",
    "live_contents",
    "scan_folder",
]


class CollectionLocked(Conflict):
    """Another sync holds the collection for longer than ``ingest.lock_timeout_s``."""


def scan_folder(folder: Path) -> dict[str, Path]:
    """Documents under ``folder`` by id (POSIX path relative to it); hidden entries skipped."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        found[relative.as_posix()] = path
    return found


def _lock(coll: Path, config: KnowledgeConfig) -> FileLock:
    coll.mkdir(parents=True, exist_ok=True)
    return FileLock(str(coll / store.LOCK), timeout=config.ingest.lock_timeout_s)


def sync_folder(
    name: str,
    folder: Path,
    config: KnowledgeConfig,
    embedder: Embedder,
    progress: bool = False,
    prune: bool = False,
    dry_run: bool = False,
) -> SyncReport:
    """Index new and changed files of ``folder`` into collection ``name``; remove the documents
    this folder synced before and no longer holds. Documents from elsewhere (uploads through
    the API, another folder) stay unless ``prune``; ``dry_run`` reports and writes nothing.

    Example: ``sync_folder("policies", Path("docs"), load_config().knowledge, Embedder(...)).added``
    """
    files = scan_folder(Path(folder))
    origin = f"folder:{Path(folder).resolve()}"
    coll = store.collection_dir(config.index_dir, name)
    with _locked(coll, config):
        known, meta = _manifest(coll)
        origins = _origins(coll)
        # Read every file again when it would give other chunks: new chunking settings, or a
        # parser that extracts other text (``loaders.PARSER``; indexes before it say nothing).
        rechunk = bool(meta) and (
            meta.get("chunking") != config.chunking.model_dump() or meta.get("parser", 1) != PARSER
        )
        report = SyncReport(name, dry_run=dry_run)
        changes = []
        for doc_id, path in tqdm(files.items(), desc="reading", disable=not progress, unit="doc"):
            try:
                check_doc_id(doc_id)  # the upload API's naming rules, here too
            except ValueError as error:
                report.failed[doc_id] = str(error)
                continue
            try:
                data = read_file(path, config.ingest)
                if not rechunk and known.get(doc_id) == content_hash(data):
                    report.unchanged.append(doc_id)
                    continue
                changes.append(Change(doc_id, load_bytes(data, doc_id, config.ingest), origin))
            except LoadError as error:
                report.failed[doc_id] = str(error)  # a previous good version stays indexed
            except OSError as error:
                report.failed[doc_id] = f"cannot read: {error.strerror}"
        for doc_id in known:
            if doc_id in files:
                continue
            if prune or origins.get(doc_id) == origin:
                changes.append(Change(doc_id, None))
            else:
                report.kept[doc_id] = origins.get(doc_id) or "unknown (indexed before origins)"
        if dry_run:
            for change in changes:
                where = report.removed if change.document is None else report.updated
                (where if change.doc_id in known else report.added).append(change.doc_id)
            return report
        return apply_changes(coll, changes, config, embedder, report, progress)


def put_document(
    name: str, doc_id: str, data: bytes, config: KnowledgeConfig, embedder: Embedder
) -> SyncReport:
    """Add or replace one document from bytes (uploads). Raises LoadError for bad content."""
    coll = store.collection_dir(config.index_dir, name)
    document = load_bytes(data, doc_id, config.ingest)
    with _locked(coll, config):
        report = SyncReport(name)
        if _manifest(coll)[0].get(doc_id) == document.content_hash:
            report.unchanged.append(doc_id)
            return report
        change = Change(doc_id, document, "api")
        return apply_changes(coll, [change], config, embedder, report, False)


def delete_document(
    name: str, doc_id: str, config: KnowledgeConfig, embedder: Embedder
) -> SyncReport:
    """Remove one document; raises KeyError if the collection does not hold it."""
    coll = store.collection_dir(config.index_dir, name)
    with _locked(coll, config):
        if doc_id not in _manifest(coll)[0]:
            raise KeyError(f"collection {name!r} has no document {doc_id!r}")
        return apply_changes(
            coll, [Change(doc_id, None)], config, embedder, SyncReport(name), False
        )


def clean_stale(index_dir: Path) -> list[str]:
    """Remove what killed syncs left behind (half-built ``versions/.tmp-*`` folders, versions
    past CURRENT) in every collection no process is syncing now; the names cleaned.

    Run at server start and by ``hybrid index list``; a collection whose lock is held is left
    alone (its writer is alive and owns its temporary folder).
    """
    root = Path(index_dir)
    cleaned = []
    for coll in (
        sorted(p for p in root.iterdir() if (p / "versions").is_dir()) if root.is_dir() else []
    ):
        lock = FileLock(str(coll / store.LOCK), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            continue
        try:
            before = sorted(p.name for p in (coll / "versions").iterdir())
            store.collect_garbage(coll)
            if sorted(p.name for p in (coll / "versions").iterdir()) != before:
                cleaned.append(coll.name)
        finally:
            lock.release()
    return cleaned


class _locked:
    def __init__(self, coll: Path, config: KnowledgeConfig):
        self.coll, self.lock = coll, _lock(coll, config)
        self.timeout = config.ingest.lock_timeout_s

    def __enter__(self) -> None:
        try:
            self.lock.acquire()
        except Timeout:
            raise CollectionLocked(
                f"collection {self.coll.name!r} is being synced by another process; gave up "
                f"after {self.timeout:g} s (ingest.lock_timeout_s)"
            ) from None
        store.collect_garbage(self.coll)  # debris of a killed sync

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _live_db(coll: Path) -> closing[sqlite3.Connection] | None:
    version = store.current_version(coll)
    path = coll / "versions" / version / "chunks.sqlite" if version else None
    return closing(store.open_db(path)) if path else None


def _manifest(coll: Path) -> tuple[dict[str, str], dict]:
    """(content hash by document id, meta) of the live version; empty for a new collection."""
    live = _live_db(coll)
    if live is None:
        return {}, {}
    with live as db:
        hashes = dict(db.execute("SELECT doc_id, content_hash FROM documents").fetchall())
        return hashes, store.read_meta(db)


def _origins(coll: Path) -> dict[str, str | None]:
    """Where each document of the live version came from (None: before origins were kept)."""
    live = _live_db(coll)
    if live is None:
        return {}
    with live as db:
        try:
            return dict(db.execute("SELECT doc_id, origin FROM documents").fetchall())
        except sqlite3.OperationalError:  # a version built before the column existed
            return {}


def collection_info(coll: Path) -> store.CollectionInfo:
    """Manifest and meta of the live version, for `hybrid index show` and the API."""
    live = _live_db(coll)
    if live is None:
        raise FileNotFoundError(f"no collection {coll.name!r} under {coll.parent}")
    with live as db:
        docs = [dict(r) for r in db.execute("SELECT * FROM documents ORDER BY doc_id")]
        n_chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        meta = store.read_meta(db)
    return store.CollectionInfo(
        collection=coll.name,
        version=store.current_version(coll),
        chunks=n_chunks,
        documents=docs,
        meta=meta,
    )


def live_contents(coll: Path) -> tuple[dict[str, str], list[str]]:
    """(content hash by document id, sorted chunk ids) of the live version: what an adapter's
    card records of its RAFT collections, and what staleness compares with later."""
    live = _live_db(coll)
    if live is None:
        raise FileNotFoundError(f"no collection {coll.name!r} under {coll.parent}")
    with live as db:
        docs = dict(db.execute("SELECT doc_id, content_hash FROM documents").fetchall())
        chunks = [r[0] for r in db.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")]
    return docs, chunks
