"""Dense, BM25 and hybrid (reciprocal-rank fusion) search over a collection's live version."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from hybrid.config import IndexConfig, SearchConfig
from hybrid.knowledge import dense, lexical, store
from hybrid.knowledge.embedder import Embedder

Mode = Literal["dense", "bm25", "hybrid"]
MAX_OPENINGS = 1000  # documents whose first chunks ``openings`` reads (per version)


@dataclass(frozen=True)
class SearchResult:
    """One ranked chunk with its provenance. ``score`` is cosine (dense), BM25, or RRF (hybrid);
    ``similarity`` is the query-chunk cosine where the dense search saw the chunk."""

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    text: str
    page_start: int | None
    page_end: int | None
    heading: str
    char_start: int
    char_end: int
    similarity: float | None = None
    vector_id: int | None = None  # the chunk's id in this version's FAISS index

    @property
    def pages(self) -> str:
        if self.page_start is None:
            return ""
        if self.page_start == self.page_end:
            return str(self.page_start)
        return f"{self.page_start}-{self.page_end}"


@dataclass(frozen=True)
class Filters:
    """``sources``: document ids or globs (``contracts/*.pdf``); ``pages``: inclusive range,
    matching chunks that overlap it."""

    sources: tuple[str, ...] = ()
    pages: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.pages is not None:
            low, high = self.pages
            if low < 1 or high < low:
                raise ValueError(
                    f"pages must be (first, last) with 1 <= first <= last, got {self.pages}"
                )

    @property
    def active(self) -> bool:
        return bool(self.sources) or self.pages is not None


class Retriever:
    """Searches one collection; ``refresh`` picks up a newer version published by a sync.

    Example: ``Retriever(Path("indexes/policies"), embedder, SearchConfig()).search("refunds")``
    """

    def __init__(self, coll: Path, embedder: Embedder, config: SearchConfig):
        self.coll, self.embedder, self.config = coll, embedder, config
        self.snapshot = store.load_snapshot(coll)
        store.check_embedder(self.snapshot.meta, embedder.name, embedder.dimension, coll.name)
        dense.configure(self.snapshot.dense, _index_config(self.snapshot.meta))
        self._openings: tuple[str, list[tuple[str, list[str]]] | None] | None = None  # version

    def refresh(self) -> bool:
        """Reload if a sync published a newer version; True when it did."""
        if store.current_version(self.coll) == self.snapshot.version:
            return False
        old = self.snapshot
        self.snapshot = store.load_snapshot(self.coll)
        dense.configure(self.snapshot.dense, _index_config(self.snapshot.meta))
        old.close()
        return True

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: Mode | None = None,
        filters: Filters = Filters(),
        query_vector: np.ndarray | None = None,
    ) -> list[SearchResult]:
        """Top-k chunks. ``query_vector`` (1, dim) skips embedding when the caller batched it."""
        if not query.strip():
            raise ValueError("query is empty")
        k = k or self.config.top_k
        mode = mode or self.config.mode
        if mode not in ("dense", "bm25", "hybrid"):
            raise ValueError(f"mode must be dense, bm25 or hybrid, got {mode!r}")
        allowed = self._allowed(filters) if filters.active else None
        depth = max(k, self.config.candidates) if mode == "hybrid" else k
        ranked: list[tuple[int, float]]
        dense_hits: list[tuple[int, float]] = []
        if mode != "bm25":
            if query_vector is None:
                query_vector = self.embedder.embed_query(query)
            dense_hits = self._dense(query_vector, depth, allowed)
        if mode == "dense":
            ranked = dense_hits
        elif mode == "bm25":
            ranked = self._bm25(query, depth, allowed)
        else:
            ranked = self._fuse(dense_hits, self._bm25(query, depth, allowed))
        return self._results(ranked[:k], dict(dense_hits))

    def _dense(
        self, vector: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        scores, ids = dense.search(self.snapshot.dense, vector, k, allowed)
        return list(zip(ids.tolist(), scores.tolist()))

    def _bm25(self, query: str, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        snap = self.snapshot
        if snap.bm25 is None:
            return []
        scores = lexical.scores(snap.bm25, query)
        if allowed is not None:
            mask = np.isin(snap.bm25_ids, allowed)
            scores = np.where(mask, scores, -1.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(snap.bm25_ids[i]), float(scores[i])) for i in top if scores[i] > 0]

    def _fuse(self, *lists: list[tuple[int, float]]) -> list[tuple[int, float]]:
        # Reciprocal-rank fusion: robust to the different scales of cosine and BM25 scores.
        weights = (self.config.dense_weight, self.config.bm25_weight)
        fused: dict[int, float] = {}
        for weight, ranked in zip(weights, lists):
            for rank, (chunk, _) in enumerate(ranked):
                fused[chunk] = fused.get(chunk, 0.0) + weight / (self.config.rrf_k + rank + 1)
        return sorted(fused.items(), key=lambda item: -item[1])

    def _allowed(self, filters: Filters) -> np.ndarray:
        sql, args = "SELECT faiss_id FROM chunks WHERE 1=1", []
        if filters.sources:
            sql += " AND (" + " OR ".join("doc_id GLOB ?" for _ in filters.sources) + ")"
            args += list(filters.sources)
        if filters.pages is not None:
            sql += " AND page_start <= ? AND page_end >= ?"
            args += [filters.pages[1], filters.pages[0]]
        rows = self.snapshot.db.execute(sql, args).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def vectors(self, results: Sequence[SearchResult]) -> np.ndarray:
        """(len(results), dim) stored vectors of results of the live version (no re-embedding)."""
        ids = np.array([r.vector_id for r in results], dtype=np.int64)
        return dense.vectors_of(self.snapshot.dense, ids)

    def knows(self, term: str) -> bool:
        """Whether any chunk of the live version holds ``term``, a BM25 term (stemmed:
        ``lexical.tokenize``)."""
        bm25 = self.snapshot.bm25
        return bm25 is not None and term in bm25.vocab_dict

    def documents(self) -> list[str]:
        """Every document id of the live version, sorted."""
        rows = self.snapshot.db.execute("SELECT doc_id FROM documents ORDER BY doc_id")
        return [r[0] for r in rows.fetchall()]

    def openings(self) -> list[tuple[str, list[str]]] | None:
        """(document id, terms) of every document's first chunk, where a document names its
        owner, tokenised as BM25 indexes it; read once per version. None past
        ``MAX_OPENINGS`` documents (a shelf that large is not one owner's).

        Example: ``retriever.openings()[0]`` -> ``("returns-policy.md", ["return", ...])``
        """
        version = self.snapshot.version
        if self._openings is None or self._openings[0] != version:
            db = self.snapshot.db
            found: list[tuple[str, list[str]]] | None = None
            if db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] <= MAX_OPENINGS:
                # SQLite returns the row holding MIN(char_start) for the bare columns.
                rows = db.execute(
                    "SELECT doc_id, text, MIN(char_start) FROM chunks GROUP BY doc_id"
                ).fetchall()
                terms = lexical.tokenize([r[1] for r in rows])
                found = [(r[0], t) for r, t in zip(rows, terms)]
            self._openings = (version, found)
        return self._openings[1]

    def page_at(self, doc_id: str, offset: int) -> int | None:
        """The page holding character ``offset`` of a document (None: no pages, or a version
        built before pages were recorded).

        Example: ``retriever.page_at("contract.pdf", sentence.char_start)`` is 9
        """
        try:
            row = self.snapshot.db.execute(
                "SELECT page FROM pages WHERE doc_id = ? AND char_start <= ? "
                "ORDER BY char_start DESC LIMIT 1",
                (doc_id, offset),
            ).fetchone()
        except sqlite3.OperationalError:  # no pages table: an index from an older release
            return None
        return int(row[0]) if row else None

    def pinpoint(self, result: SearchResult) -> SearchResult:
        """``result`` (a sentence of a chunk) with its own page, where its chunk spans several."""
        if result.page_start is None or result.page_start == result.page_end:
            return result
        page = self.page_at(result.doc_id, result.char_start)
        return replace(result, page_start=page, page_end=page) if page else result

    def overlapping(self, doc_id: str, spans: Sequence[tuple[int, int]]) -> list[SearchResult]:
        """Chunks of ``doc_id`` overlapping any character span, in document order (rank 0).

        Example: the chunks holding an answer span, ``retriever.overlapping("p.txt", [(10, 42)])``
        """
        rows = self.snapshot.db.execute(
            f"SELECT {_COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY char_start", (doc_id,)
        ).fetchall()
        return [
            _result(0, 0.0, r)
            for r in rows
            if any(r["char_start"] < end and start < r["char_end"] for start, end in spans)
        ]

    def _results(
        self, ranked: list[tuple[int, float]], similarity: dict[int, float]
    ) -> list[SearchResult]:
        if not ranked:
            return []
        ids = [chunk for chunk, _ in ranked]
        rows = self.snapshot.db.execute(
            f"SELECT {_COLUMNS} FROM chunks WHERE faiss_id IN ({','.join('?' * len(ids))})", ids
        ).fetchall()
        by_id = {row["faiss_id"]: row for row in rows}
        return [
            _result(rank, score, r, similarity.get(chunk))
            for rank, (chunk, score) in enumerate(ranked, start=1)
            if (r := by_id.get(chunk)) is not None
        ]


_COLUMNS = "faiss_id, chunk_id, doc_id, text, page_start, page_end, heading, char_start, char_end"


def _result(rank: int, score: float, r, similarity: float | None = None) -> SearchResult:
    # Positional: SearchResult's field order.
    return SearchResult(
        rank,
        score,
        r["chunk_id"],
        r["doc_id"],
        r["text"],
        r["page_start"],
        r["page_end"],
        r["heading"],
        r["char_start"],
        r["char_end"],
        similarity,
        r["faiss_id"],
    )


def _index_config(meta: dict) -> IndexConfig:
    return IndexConfig.model_validate(meta.get("index", {}))
