"""Write a collection's next version: apply document changes to FAISS, BM25 and SQLite."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

from hybrid.config import KnowledgeConfig
from hybrid.knowledge import dense, lexical, store
from hybrid.knowledge.chunking import Chunk, Chunker
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.loaders import PARSER, LoadedDocument


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
    # Not in the synced folder but kept: they came from elsewhere (the upload API, another
    # folder); document -> origin. ``--prune`` removes them.
    kept: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False  # nothing was written: the lists say what a sync would do
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
    origin: str | None = None  # "folder:<path>" (a folder sync) or "api" (an upload)


def apply_changes(
    coll: Path,
    changes: list[Change],
    config: KnowledgeConfig,
    embedder: Embedder,
    report: SyncReport,
    progress: bool,
) -> SyncReport:
    """Write the next version with ``changes`` applied, then publish it; fills ``report``.
    The caller holds the collection's lock."""
    started = time.perf_counter()
    live = store.current_version(coll)
    if live and not changes:
        report.version = live
        return report
    build = store.new_build_dir(coll)
    try:
        report.version = _build_version(
            coll, live, build, changes, config, embedder, report, progress
        )
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    report.seconds = time.perf_counter() - started
    return report


def _build_version(
    coll: Path,
    live: str | None,
    build: Path,
    changes: list[Change],
    config: KnowledgeConfig,
    embedder: Embedder,
    report: SyncReport,
    progress: bool,
) -> str:
    """Copy the live version into ``build``, apply ``changes``, write the indexes, publish."""
    db, index, meta = _open(coll, live, build, config, embedder)
    known = dict(db.execute("SELECT doc_id, content_hash FROM documents").fetchall())
    new_chunks, refused = _chunk(changes, config, embedder, report, progress)
    changes = [c for c in changes if c.doc_id not in refused]
    vectors = _vectors_for(new_chunks, db, index, embedder, report, progress)
    index = _drop(db, index, [c.doc_id for c in changes], config)
    next_id = int(meta.get("next_faiss_id", 0))
    # The settings every document was read with: after a partial update (one upload) under new
    # ones, the old stay, so the next folder sync still re-reads the rest (sync_folder).
    everything = set(known) <= {c.doc_id for c in changes}
    ids = np.arange(next_id, next_id + len(new_chunks), dtype=np.int64)
    index = dense.add(index, vectors, ids, config.index)
    now = time.time()
    _insert(db, changes, new_chunks, ids, known, now, report)
    meta.update(
        next_faiss_id=next_id + len(new_chunks),
        chunking=config.chunking.model_dump() if everything else meta.get("chunking"),
        parser=PARSER if everything else meta.get("parser", 1),
        index=config.index.model_dump(),
        synced_at=now,
        created_at=meta.get("created_at", now),
        # What the sync that made this version did (the owners' page shows it).
        last_sync={
            "at": now,
            "added": report.added,
            "updated": report.updated,
            "removed": report.removed,
            "failed": report.failed,
        },
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


def _open(
    coll: Path, live: str | None, build: Path, config: KnowledgeConfig, embedder: Embedder
) -> tuple[sqlite3.Connection, faiss.IndexIDMap2, dict]:
    """The build's database and index (copies of the live version's, or new) and its meta;
    refuses an embedder other than the one the collection was built with."""
    db_path = build / "chunks.sqlite"
    if live:
        shutil.copyfile(coll / "versions" / live / "chunks.sqlite", db_path)
        index = faiss.read_index(str(coll / "versions" / live / "dense.faiss"))
    else:
        index = dense.new_index(embedder.dimension, config.index)
    db = sqlite3.connect(db_path)
    db.executescript(store.SCHEMA)
    if "origin" not in [row[1] for row in db.execute("PRAGMA table_info(documents)")]:
        db.execute("ALTER TABLE documents ADD COLUMN origin TEXT")  # a version built before
    meta = (
        store.read_meta(db)
        if live
        else {"embedder": embedder.name, "dimension": embedder.dimension}
    )
    store.check_embedder(meta, embedder.name, embedder.dimension, coll.name)
    return db, index, meta


def _chunk(
    changes: list[Change],
    config: KnowledgeConfig,
    embedder: Embedder,
    report: SyncReport,
    progress: bool,
) -> tuple[list[Chunk], set[str]]:
    """The changed documents' chunks, and the documents refused for having too many."""
    chunker = Chunker(config.chunking, embedder.count_tokens)
    new_chunks: list[Chunk] = []
    refused: set[str] = set()
    for change in tqdm(changes, desc="chunking", disable=not progress, unit="doc"):
        if change.document is None:
            continue
        pieces = chunker.split(change.document)
        if len(pieces) > config.ingest.max_chunks:
            # Refused before anything is embedded; its previous version stays indexed.
            report.failed[change.doc_id] = (
                f"{len(pieces):,} chunks, over ingest.max_chunks={config.ingest.max_chunks:,}"
            )
            refused.add(change.doc_id)
            continue
        new_chunks += pieces
    return new_chunks, refused


def _drop(
    db: sqlite3.Connection, index: faiss.IndexIDMap2, touched: list[str], config: KnowledgeConfig
) -> faiss.IndexIDMap2:
    """Remove the touched documents' rows and vectors (their new versions go in after)."""
    old_ids = np.array(
        [r[0] for r in _select_in(db, "SELECT faiss_id FROM chunks WHERE doc_id IN ({})", touched)],
        dtype=np.int64,
    )
    index = dense.remove(index, old_ids, config.index)
    for table in ("chunks", "documents", "pages"):
        db.executemany(f"DELETE FROM {table} WHERE doc_id = ?", [(d,) for d in touched])
    return index


def _insert(
    db: sqlite3.Connection,
    changes: list[Change],
    new_chunks: list[Chunk],
    ids: np.ndarray,
    known: dict[str, str],
    now: float,
    report: SyncReport,
) -> None:
    """Write the new pages, chunks and documents rows; say in ``report`` what each change did."""
    # Where each page starts: a citation names the page of its sentence, not a chunk's range.
    db.executemany(
        "INSERT INTO pages VALUES (?, ?, ?)",
        [
            (c.document.doc_id, page, start)
            for c in changes
            if c.document is not None
            for page, start in enumerate(c.document.page_starts, start=1)
        ],
    )
    db.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (int(i), c.chunk_id, c.doc_id, c.text, c.char_start, c.char_end)
            + (c.page_start, c.page_end, c.heading, c.text_hash)
            for i, c in zip(ids, new_chunks)
        ],
    )
    per_doc: dict[str, int] = {}
    for chunk in new_chunks:
        per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
    for change in changes:
        doc = change.document
        if doc is None:
            report.removed.append(change.doc_id)
            continue
        (report.updated if change.doc_id in known else report.added).append(change.doc_id)
        row = (doc.doc_id, doc.kind, doc.content_hash, doc.size_bytes, doc.n_pages)
        row += (per_doc.get(doc.doc_id, 0), now, change.origin)
        db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)


def _select_in(db: sqlite3.Connection, sql: str, values: Iterable[str]) -> list[tuple]:
    values = list(values)
    out: list[tuple] = []
    for start in range(0, len(values), 500):  # SQLite caps bound parameters per statement
        part = values[start : start + 500]
        out += db.execute(sql.format(",".join("?" * len(part))), part).fetchall()
    return out


def _vectors_for(
    chunks: list[Chunk],
    db: sqlite3.Connection,
    index: faiss.IndexIDMap2,
    embedder: Embedder,
    report: SyncReport,
    progress: bool,
) -> np.ndarray:
    """Embeddings for ``chunks``: reuse the stored vector of any identical text, embed the rest."""
    hashes = list({c.text_hash for c in chunks})
    sql = "SELECT text_hash, MIN(faiss_id) FROM chunks WHERE text_hash IN ({}) GROUP BY text_hash"
    stored = dict(_select_in(db, sql, hashes))
    out = np.zeros((len(chunks), embedder.dimension), dtype=np.float32)
    reuse = [i for i, c in enumerate(chunks) if c.text_hash in stored]
    if reuse:
        out[reuse] = dense.vectors_of(index, np.array([stored[chunks[i].text_hash] for i in reuse]))
    todo = [i for i, c in enumerate(chunks) if c.text_hash not in stored]
    if todo:
        out[todo] = embedder.embed([chunks[i].text for i in todo], progress=progress)
    report.chunks_reused, report.chunks_embedded = len(reuse), len(todo)
    return out
