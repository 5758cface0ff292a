"""The answer ledger: every answer served, with its evidence, and the feedback agents left on it.

One SQLite file (WAL) beside the index root. An answer is written when it is finished, before
the client reads it, so feedback can name any answer id the server returned; a committed row
survives a restart and a ``kill -9`` (WAL with ``synchronous=NORMAL`` loses at most the last
transactions on power loss, never on a process crash).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hybrid.errors import NotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, created REAL NOT NULL, route TEXT NOT NULL, key TEXT NOT NULL,
    question TEXT NOT NULL, prompt TEXT NOT NULL, answer TEXT NOT NULL, refused INTEGER NOT NULL,
    best_similarity REAL, cited INTEGER NOT NULL, verified INTEGER NOT NULL,
    evidence TEXT NOT NULL, versions TEXT NOT NULL, citations TEXT NOT NULL, adapter TEXT,
    vector BLOB);
CREATE INDEX IF NOT EXISTS answers_route ON answers(route, created);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    created REAL NOT NULL, key TEXT NOT NULL, rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    correction TEXT, comment TEXT);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id);
"""


@dataclass(frozen=True)
class Evidence:
    """One numbered source of the prompt, by content-hash id and where it came from."""

    n: int
    chunk_id: str
    document: str
    collection: str
    pages: str | None


@dataclass(frozen=True)
class AnswerRecord:
    """An answer as served. ``prompt`` holds the messages the model read (empty when the route
    refused before generating); ``vector`` the question's embedding (dim,), when retrieved."""

    id: str
    route: str
    key: str
    question: str
    prompt: tuple[dict[str, str], ...]
    answer: str
    refused: bool
    best_similarity: float | None
    cited: int  # citations returned
    verified: int  # of which verified
    evidence: tuple[Evidence, ...]
    versions: dict[str, str]  # collection -> the version the evidence came from
    citations: tuple[dict, ...]
    adapter: str | None
    vector: np.ndarray | None = None
    created: float = 0.0  # set when recorded


@dataclass(frozen=True)
class Feedback:
    id: int
    answer_id: str
    created: float
    key: str
    rating: int  # +1 thumbs up, -1 thumbs down
    correction: str | None
    comment: str | None


class Ledger:
    """Thread-safe: one connection, one lock (writes are single small rows).

    Example: ``Ledger(Path("indexes.ledger.sqlite")).add_feedback("chatcmpl-1", "ops", -1)``
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, a: AnswerRecord) -> float:
        """Store one answer; returns its timestamp."""
        created = a.created or time.time()
        vector = None if a.vector is None else np.asarray(a.vector, np.float16).tobytes()
        row = (
            a.id, created, a.route, a.key, a.question, json.dumps(list(a.prompt)), a.answer,
            int(a.refused), a.best_similarity, a.cited, a.verified,
            json.dumps([e.__dict__ for e in a.evidence]), json.dumps(a.versions),
            json.dumps(list(a.citations)), a.adapter, vector,
        )  # fmt: skip
        with self._lock:
            self._db.execute(f"INSERT INTO answers VALUES ({','.join('?' * len(row))})", row)
        return created

    def get(self, answer_id: str) -> AnswerRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return None if row is None else _answer(row)

    def add_feedback(
        self,
        answer_id: str,
        key: str,
        rating: int,
        correction: str | None = None,
        comment: str | None = None,
    ) -> Feedback:
        """Store a rating (+1 / -1) with an optional corrected answer; NotFound for an id the
        ledger does not hold."""
        if rating not in (-1, 1):
            raise ValueError(f"rating must be 1 or -1, got {rating!r}")
        created = time.time()
        with self._lock:
            if self._db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone():
                cursor = self._db.execute(
                    "INSERT INTO feedback(answer_id, created, key, rating, correction, comment) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (answer_id, created, key, rating, correction or None, comment or None),
                )
                return Feedback(
                    int(cursor.lastrowid or 0), answer_id, created, key, rating,
                    correction or None, comment or None,
                )  # fmt: skip
        raise NotFound(f"answer_id: no answer {answer_id!r} in the ledger")

    def feedback(self, latest_only: bool = True) -> list[tuple[Feedback, AnswerRecord]]:
        """Feedback with its answer, oldest first; ``latest_only``: one (the last) per answer."""
        where = (
            "WHERE f.id IN (SELECT MAX(id) FROM feedback GROUP BY answer_id)" if latest_only else ""
        )
        with self._lock:
            rows = self._db.execute(
                "SELECT f.id AS f_id, f.created AS f_created, f.key AS f_key, f.rating, "
                "f.correction, f.comment, a.* FROM feedback f "
                f"JOIN answers a ON a.id = f.answer_id {where} ORDER BY f.id"
            ).fetchall()
        return [
            (
                Feedback(
                    r["f_id"],
                    r["id"],
                    r["f_created"],
                    r["f_key"],
                    r["rating"],
                    r["correction"],
                    r["comment"],
                ),  # fmt: skip
                _answer(r),
            )
            for r in rows
        ]

    def answers(
        self, route: str | None = None, first: int | None = None, last: int | None = None
    ) -> list[tuple[AnswerRecord, int | None]]:
        """Answers with their latest rating (None: unrated) in the order they were given; all,
        or only the ``first`` n, or only the ``last`` n."""
        query = (
            "SELECT a.*, a.rowid AS seq, (SELECT rating FROM feedback f WHERE f.answer_id = a.id "
            "ORDER BY f.id DESC LIMIT 1) AS rating FROM answers a"
        )
        args: tuple = ()
        if route is not None:
            query, args = query + " WHERE a.route = ?", (route,)
        order = " ORDER BY a.rowid DESC" if last is not None else " ORDER BY a.rowid"
        limit = first if last is None else last
        with self._lock:
            rows = self._db.execute(
                query + order + (f" LIMIT {int(limit)}" if limit is not None else ""), args
            ).fetchall()
        rows = sorted(rows, key=lambda r: r["seq"])
        return [(_answer(r), r["rating"]) for r in rows]

    def routes(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT route FROM answers ORDER BY route")
            return [r[0] for r in rows.fetchall()]


def _answer(row: sqlite3.Row) -> AnswerRecord:
    vector = row["vector"]
    return AnswerRecord(
        id=row["id"],
        route=row["route"],
        key=row["key"],
        question=row["question"],
        prompt=tuple(json.loads(row["prompt"])),
        answer=row["answer"],
        refused=bool(row["refused"]),
        best_similarity=row["best_similarity"],
        cited=row["cited"],
        verified=row["verified"],
        evidence=tuple(Evidence(**e) for e in json.loads(row["evidence"])),
        versions=json.loads(row["versions"]),
        citations=tuple(json.loads(row["citations"])),
        adapter=row["adapter"],
        vector=None if vector is None else np.frombuffer(vector, np.float16).astype(np.float32),
        created=row["created"],
    )
