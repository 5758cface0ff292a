"""Bring a collection in line with a folder: embed only what changed, publish atomically."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout
from tqdm import tqdm

from hybrid.config import HybridConfig
from hybrid.knowledge import dense, lexical, store
from hybrid.knowledge.chunking import Chunk, Chunker
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.loaders import LoadedDocument, LoadError, content_hash, load_bytes, read_file


@dataclass
class SyncReport:
    """What a sync did, by document id. ``failed`` maps a document to its reason."""

    collection: str
    version: str | None = None
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class Change:
    """One document to (re)index, or to remove (``document is None``)."""

    doc_id: str
    document: LoadedDocument | None


class CollectionLocked(RuntimeError):
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


def _lock(coll: Path, config: HybridConfig) -> FileLock:
    coll.mkdir(parents=True, exist_ok=True)
    return FileLock(str(coll / store.LOCK), timeout=config.ingest.lock_timeout_s)


def sync_folder(
    name: str, folder: Path, config: HybridConfig, embedder: Embedder, progress: bool = False
) -> SyncReport:
    """Index new and changed files of ``folder`` into collection ``name``, drop deleted ones.

    Example: ``sync_folder("policies", Path("docs"), load_config(), Embedder(...)).added``
    """
    files = scan_folder(Path(folder))
    coll = store.collection_dir(config.index_dir, name)
    with _locked(coll, config):
        known = _manifest(coll)
        rechunk = _chunking_changed(coll, config)
        report = SyncReport(name)
        changes = []
        for doc_id, path in tqdm(files.items(), desc="reading", disable=not progress, unit="doc"):
            try:
                data = read_file(path, config.ingest)
                if not rechunk and known.get(doc_id) == content_hash(data):
                    report.unchanged.append(doc_id)
                    continue
                changes.append(Change(doc_id, load_bytes(data, doc_id, config.ingest)))
            except LoadError as error:
                report.failed[doc_id] = str(error)  # a previous good version stays indexed
            except OSError as error:
                report.failed[doc_id] = f"cannot read: {error.strerror}"
        changes += [Change(doc_id, None) for doc_id in known if doc_id not in files]
        return _apply(coll, changes, config, embedder, report, progress)


def put_document(
    name: str, doc_id: str, data: bytes, config: HybridConfig, embedder: Embedder
) -> SyncReport:
    """Add or replace one document from bytes (uploads). Raises LoadError for bad content."""
    coll = store.collection_dir(config.index_dir, name)
    document = load_bytes(data, doc_id, config.ingest)
    with _locked(coll, config):
        report = SyncReport(name)
        if _manifest(coll).get(doc_id) == document.content_hash:
            report.unchanged.append(doc_id)
            return report
        return _apply(coll, [Change(doc_id, document)], config, embedder, report, False)


def delete_document(name: str, doc_id: str, config: HybridConfig, embedder: Embedder) -> SyncReport:
    """Remove one document; raises KeyError if the collection does not hold it."""
    coll = store.collection_dir(config.index_dir, name)
    with _locked(coll, config):
        if doc_id not in _manifest(coll):
            raise KeyError(f"collection {name!r} has no document {doc_id!r}")
        return _apply(coll, [Change(doc_id, None)], config, embedder, SyncReport(name), False)


class _locked:
    def __init__(self, coll: Path, config: HybridConfig):
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


def _manifest(coll: Path) -> dict[str, str]:
    live = _live_db(coll)
    if live is None:
        return {}
    with live as db:
        return dict(db.execute("SELECT doc_id, content_hash FROM documents").fetchall())


def _chunking_changed(coll: Path, config: HybridConfig) -> bool:
    live = _live_db(coll)
    if live is None:
        return False
    with live as db:
        return store.read_meta(db).get("chunking") != config.chunking.model_dump()


def _check_embedder(meta: dict, embedder: Embedder, coll: Path) -> None:
    built = (meta.get("embedder"), meta.get("dimension"))
    if built != (embedder.name, embedder.dimension):
        raise ValueError(
            f"collection {coll.name!r} was built with embedder {built[0]!r} (dimension "
            f"{built[1]}); this config uses {embedder.name!r} (dimension {embedder.dimension}). "
            "Vectors of different models cannot be mixed: sync into a new collection."
        )


def _apply(
    coll: Path, changes: list[Change], config: HybridConfig, embedder: Embedder,
    report: SyncReport, progress: bool,
) -> SyncReport:
    """Write the next version with ``changes`` applied, then publish it. Caller holds the lock."""
    started = time.perf_counter()
    live = store.current_version(coll)
    if live and not changes:
        report.version = live
        return report
    build = store.new_build_dir(coll)
    try:
        report.version = _build_version(coll, live, build, changes, config, embedder, report, progress)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    report.seconds = time.perf_counter() - started
    return report


def _build_version(
    coll: Path, live: str | None, build: Path, changes: list[Change], config: HybridConfig,
    embedder: Embedder, report: SyncReport, progress: bool,
) -> str:
    db_path = build / "chunks.sqlite"
    if live:
        shutil.copyfile(coll / "versions" / live / "chunks.sqlite", db_path)
        index = faiss.read_index(str(coll / "versions" / live / "dense.faiss"))
    else:
        index = dense.new_index(embedder.dimension, config.index)
    db = sqlite3.connect(db_path)
    db.executescript(store.SCHEMA)
    meta = store.read_meta(db) if live else {"embedder": embedder.name, "dimension": embedder.dimension}
    _check_embedder(meta, embedder, coll)
    known = dict(db.execute("SELECT doc_id, content_hash FROM documents").fetchall())

    chunker = Chunker(config.chunking, embedder.count_tokens)
    new_chunks: list[Chunk] = []
    for change in tqdm(changes, desc="chunking", disable=not progress, unit="doc"):
        if change.document is not None:
            new_chunks += chunker.split(change.document)
    vectors = _vectors_for(new_chunks, db, index, embedder, report, progress)

    touched = [c.doc_id for c in changes]
    old_ids = np.array(
        [r[0] for r in _select_in(db, "SELECT faiss_id FROM chunks WHERE doc_id IN ({})", touched)],
        dtype=np.int64,
    )
    index = dense.remove(index, old_ids, config.index)
    db.executemany("DELETE FROM chunks WHERE doc_id = ?", [(d,) for d in touched])
    db.executemany("DELETE FROM documents WHERE doc_id = ?", [(d,) for d in touched])

    next_id = int(meta.get("next_faiss_id", 0))
    ids = np.arange(next_id, next_id + len(new_chunks), dtype=np.int64)
    index = dense.add(index, vectors, ids, config.index)
    db.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(int(i), c.chunk_id, c.doc_id, c.text, c.char_start, c.char_end, c.page_start,
          c.page_end, c.heading, c.text_hash) for i, c in zip(ids, new_chunks)],
    )
    per_doc: dict[str, int] = {}
    for chunk in new_chunks:
        per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
    now = time.time()
    for change in changes:
        doc = change.document
        if doc is None:
            report.removed.append(change.doc_id)
            continue
        (report.updated if change.doc_id in known else report.added).append(change.doc_id)
        db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            (doc.doc_id, doc.kind, doc.content_hash, doc.size_bytes, doc.n_pages,
             per_doc.get(doc.doc_id, 0), now),
        )
    meta.update(
        next_faiss_id=next_id + len(new_chunks), chunking=config.chunking.model_dump(),
        index=config.index.model_dump(), synced_at=now, created_at=meta.get("created_at", now),
    )
    store.write_meta(db, meta)
    db.commit()
    rows = db.execute("SELECT faiss_id, text FROM chunks ORDER BY faiss_id").fetchall()
    db.close()

    faiss.write_index(index, str(build / "dense.faiss"))
    np.save(build / "bm25_ids.npy", np.array([r[0] for r in rows], dtype=np.int64))
    if rows:
        lexical.build([r[1] for r in rows], build / "bm25")
    return store.publish(coll, build)


def _select_in(db: sqlite3.Connection, sql: str, values: Iterable[str]) -> list[tuple]:
    values = list(values)
    out: list[tuple] = []
    for start in range(0, len(values), 500):  # SQLite caps bound parameters per statement
        part = values[start:start + 500]
        out += db.execute(sql.format(",".join("?" * len(part))), part).fetchall()
    return out


def _vectors_for(
    chunks: list[Chunk], db: sqlite3.Connection, index: faiss.IndexIDMap2, embedder: Embedder,
    report: SyncReport, progress: bool,
) -> np.ndarray:
    """Embeddings for ``chunks``: reuse the stored vector of any identical text, embed the rest."""
    hashes = list({c.text_hash for c in chunks})
    stored = dict(_select_in(db, "SELECT text_hash, MIN(faiss_id) FROM chunks WHERE text_hash IN ({}) GROUP BY text_hash", hashes))
    out = np.zeros((len(chunks), embedder.dimension), dtype=np.float32)
    reuse = [i for i, c in enumerate(chunks) if c.text_hash in stored]
    if reuse:
        out[reuse] = dense.vectors_of(index, np.array([stored[chunks[i].text_hash] for i in reuse]))
    todo = [i for i, c in enumerate(chunks) if c.text_hash not in stored]
    if todo:
        out[todo] = embedder.embed([chunks[i].text for i in todo], progress=progress)
    report.chunks_reused, report.chunks_embedded = len(reuse), len(todo)
    return out


def collection_info(coll: Path) -> dict:
    """Manifest and meta of the live version, for `hybrid index show` and the API."""
    live = _live_db(coll)
    if live is None:
        raise FileNotFoundError(f"no collection {coll.name!r} under {coll.parent}")
    with live as db:
        docs = [dict(r) for r in db.execute("SELECT * FROM documents ORDER BY doc_id")]
        n_chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        meta = store.read_meta(db)
    return {"collection": coll.name, "version": store.current_version(coll), "chunks": n_chunks,
            "documents": docs, "meta": meta}
