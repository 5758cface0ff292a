"""On-disk collections: immutable versions swapped in atomically, so readers never see a mix.

Layout of ``<index_dir>/<collection>/``::

    CURRENT                 name of the live version, replaced atomically (os.replace)
    .sync.lock              held by the one sync allowed at a time
    versions/000007/        one complete, immutable version
        chunks.sqlite       meta, documents (the manifest), chunks (text + provenance)
        dense.faiss         IndexIDMap2 over the configured FAISS index; ids = chunks.faiss_id
        bm25/  bm25_ids.npy bm25s index; row i scores chunk bm25_ids[i]

A sync builds the next version in ``versions/.tmp-*``, fsyncs it, renames it into place and
only then replaces CURRENT. A sync killed at any point leaves CURRENT on a complete version;
the next sync deletes the debris. The two newest versions are kept for readers mid-open.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from hybrid.errors import Conflict, Invalid

CURRENT = "CURRENT"
LOCK = ".sync.lock"
KEEP_VERSIONS = 2
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, kind TEXT NOT NULL, content_hash TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, n_pages INTEGER, n_chunks INTEGER NOT NULL,
    indexed_at REAL NOT NULL, origin TEXT);
CREATE TABLE IF NOT EXISTS chunks (
    faiss_id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL,
    text TEXT NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    page_start INTEGER, page_end INTEGER, heading TEXT NOT NULL, text_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL, page INTEGER NOT NULL, char_start INTEGER NOT NULL,
    PRIMARY KEY (doc_id, page));
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_text_hash ON chunks(text_hash);
"""


def check_name(name: str) -> str:
    """Collection names become folder names: letters, digits, ``.``, ``_``, ``-``."""
    if not _NAME.match(name):
        raise Invalid(
            f"collection name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def collection_dir(index_dir: Path, name: str) -> Path:
    return Path(index_dir) / check_name(name)


def current_version(coll: Path) -> str | None:
    try:
        return (coll / CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


def list_collections(index_dir: Path) -> list[str]:
    root = Path(index_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CURRENT).is_file())


def open_db(path: Path) -> sqlite3.Connection:
    """Read-only connection to a published (immutable) version: no locks, no journal."""
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


class DocumentRecord(BaseModel):
    """A row of a version's manifest (``documents`` table)."""

    doc_id: str
    kind: str
    content_hash: str
    size_bytes: int
    n_pages: int | None
    n_chunks: int
    indexed_at: float
    origin: str | None = None  # "api:..." or "folder:..."; None: indexed before origins were kept


class LastSync(BaseModel):
    """What the sync that published a version did, by document id."""

    at: float
    added: list[str] = []
    updated: list[str] = []
    removed: list[str] = []
    failed: dict[str, str] = {}  # document -> reason (the rest was indexed)


class CollectionMeta(BaseModel):
    """A version's build settings (``meta`` table). ``chunking`` and ``index`` are the config
    sections as built, kept as written: an older index still opens under a newer config."""

    model_config = ConfigDict(extra="allow")
    embedder: str
    dimension: int
    chunking: dict = {}
    index: dict = {}
    synced_at: float | None = None
    created_at: float | None = None
    next_faiss_id: int = 0
    last_sync: LastSync | None = None  # None: built before hybrid kept it


class CollectionInfo(BaseModel):
    """The live version of a collection: its manifest and build settings."""

    collection: str
    version: str | None
    chunks: int
    documents: list[DocumentRecord]
    meta: CollectionMeta

    @property
    def last_sync(self) -> float | None:
        return max((d.indexed_at for d in self.documents), default=None)


def read_meta(db: sqlite3.Connection) -> dict:
    return {key: json.loads(value) for key, value in db.execute("SELECT key, value FROM meta")}


def write_meta(db: sqlite3.Connection, values: dict) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
        [(key, json.dumps(value)) for key, value in values.items()],
    )


def check_embedder(meta: dict, name: str, dimension: int, collection: str) -> None:
    """Refuse to mix vectors of different models in one collection (sync and query alike)."""
    built = (meta.get("embedder"), meta.get("dimension"))
    if built != (name, dimension):
        raise Conflict(
            f"collection {collection!r} was built with embedder {built[0]!r} (dimension "
            f"{built[1]}); this config uses {name!r} (dimension {dimension}). Vectors of "
            "different models cannot be mixed: use the same embedder or a new collection."
        )


@dataclass
class Snapshot:
    """One published version, loaded: FAISS and BM25 in memory, metadata in SQLite."""

    collection: str
    version: str
    path: Path
    db: sqlite3.Connection
    meta: dict
    dense: object  # faiss.IndexIDMap2
    bm25: object | None  # bm25s.BM25, None for an empty collection
    bm25_ids: np.ndarray  # (n_chunks,) int64

    def close(self) -> None:
        self.db.close()


def load_snapshot(coll: Path, retries: int = 5) -> Snapshot:
    """Open the live version. Retries if a concurrent sync retires it while we open it."""
    import bm25s
    import faiss

    for attempt in range(retries):
        version = current_version(coll)
        if version is None:
            raise FileNotFoundError(f"no collection at {coll} (run `hybrid index sync` first)")
        path = coll / "versions" / version
        try:
            db = open_db(path / "chunks.sqlite")
            meta = read_meta(db)
            dense = faiss.read_index(str(path / "dense.faiss"))
            ids = np.load(path / "bm25_ids.npy")
            bm25 = bm25s.BM25.load(str(path / "bm25")) if len(ids) else None
            return Snapshot(coll.name, version, path, db, meta, dense, bm25, ids)
        except (FileNotFoundError, RuntimeError, sqlite3.OperationalError):
            if attempt == retries - 1:
                raise
            time.sleep(0.05 * (attempt + 1))  # a newer version went live: read CURRENT again
    raise AssertionError("unreachable")


def new_build_dir(coll: Path) -> Path:
    versions = coll / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    build = versions / f".tmp-{os.getpid()}-{time.time_ns()}"
    build.mkdir()
    return build


def _fsync_tree(path: Path) -> None:
    for item in [*path.rglob("*"), path]:
        flags = os.O_RDONLY | (os.O_DIRECTORY if item.is_dir() else 0)
        fd = os.open(item, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(coll: Path, build: Path) -> str:
    """Make ``build`` the live version atomically; returns its name. Caller holds the lock."""
    versions = coll / "versions"
    numbers = [int(p.name) for p in versions.iterdir() if p.name.isdigit()]
    name = f"{max(numbers, default=0) + 1:06d}"
    _fsync_tree(build)
    os.replace(build, versions / name)
    pointer = coll / f".{CURRENT}.tmp"
    pointer.write_text(name)
    with open(pointer, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer, coll / CURRENT)  # the commit point
    fd = os.open(coll, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    collect_garbage(coll)
    return name


def collect_garbage(coll: Path) -> None:
    """Delete half-built versions and all but the newest KEEP_VERSIONS. Caller holds the lock."""
    versions = coll / "versions"
    if not versions.is_dir():
        return
    live = current_version(coll)
    # Versions newer than CURRENT are debris of a sync killed between rename and commit.
    done = sorted(p.name for p in versions.iterdir() if p.name.isdigit() and p.name <= (live or ""))
    keep = set(done[-KEEP_VERSIONS:])
    for path in versions.iterdir():
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def read_document(coll: Path, doc_id: str):
    """A document of the live version as a ``LoadedDocument``, rebuilt from its chunks (they
    are verbatim slices of the extracted text; the whitespace between them comes back as line
    breaks) and its pages' offsets: what clause flags read for a document already indexed.
    KeyError when the collection has no such document."""
    from hybrid.knowledge.loaders import LoadedDocument

    version = current_version(coll)
    if version is None:
        raise FileNotFoundError(f"no collection at {coll}")
    db = open_db(coll / "versions" / version / "chunks.sqlite")
    try:
        row = db.execute(
            "SELECT kind, content_hash, size_bytes FROM documents WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        if row is None:
            raise KeyError(doc_id)
        chunks = db.execute(
            "SELECT text, char_start FROM chunks WHERE doc_id = ? ORDER BY char_start", (doc_id,)
        ).fetchall()
        pages = db.execute(
            "SELECT char_start FROM pages WHERE doc_id = ? ORDER BY page", (doc_id,)
        ).fetchall()
    finally:
        db.close()
    parts, end = [], 0
    for text, start in chunks:
        if start > end:
            parts.append("\n" * (start - end))
        parts.append(text[max(0, end - start) :])  # chunks overlap: only what is new
        end = max(end, start + len(text))
    return LoadedDocument(
        doc_id,
        row["kind"],
        "".join(parts),
        row["content_hash"],
        row["size_bytes"],
        page_starts=tuple(p["char_start"] for p in pages),
    )
