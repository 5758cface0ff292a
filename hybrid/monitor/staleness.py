"""Staleness: how far the collections an adapter was RAFT-trained on have moved since.

The card records, per RAFT source, the collection's version, its documents' content hashes and
its chunk ids (content hashes too). Compared with the collection's live version now: the share
of documents added, removed or changed, and the share of chunks not in both (Jaccard distance).
Past ``monitor.stale_share`` the adapter answers from evidence it was not trained to read:
retrain it (``hybrid train``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hybrid.knowledge import store
from hybrid.knowledge.sync import live_contents
from hybrid.models.cards import AdapterCard, BuiltSource


@dataclass(frozen=True)
class SourceStaleness:
    collection: str
    trained_version: str | None
    current_version: str | None  # None: the collection is gone
    documents_changed: float | None  # share of the trained documents; None: not recorded
    chunks_changed: float | None
    stale: bool | None  # None: cannot tell (an older card, or the collection is gone)
    note: str


def staleness(card: AdapterCard, index_dir: Path, threshold: float) -> list[SourceStaleness]:
    """One entry per RAFT source of ``card`` (none for an adapter trained without RAFT).

    Example: ``staleness(read_card(Path("hybrid/adapters/answerer")), Path("indexes"), 0.2)``
    """
    if card.raft is None:
        return []
    return [_source(s, index_dir, threshold) for s in card.raft.snapshot.sources]


def _source(source: BuiltSource, index_dir: Path, threshold: float) -> SourceStaleness:
    coll = store.collection_dir(index_dir, source.collection)
    current = store.current_version(coll) if coll.is_dir() else None
    name, trained_version = source.collection, source.version
    if current is None:
        note = f"collection {name!r} is not in {index_dir}"
        return SourceStaleness(name, trained_version, None, None, None, None, note)
    if not source.documents:  # a card written before content snapshots
        if current == source.version:
            return SourceStaleness(name, trained_version, current, None, None, False,
                                   "unchanged since training")  # fmt: skip
        note = f"version {source.version} -> {current}; the card predates content snapshots"
        return SourceStaleness(name, trained_version, current, None, None, None, note)
    docs, chunks = live_contents(coll)
    trained = source.documents
    changed = {d for d in trained if docs.get(d) != trained[d]} | (set(docs) - set(trained))
    doc_share = len(changed) / max(len(trained), 1)
    before, after = set(source.chunk_ids), set(chunks)
    chunk_share = len(before ^ after) / max(len(before | after), 1)
    stale = max(doc_share, chunk_share) > threshold
    note = f"{len(changed)} of {len(trained)} documents and {chunk_share:.0%} of chunks changed"
    if stale:
        note += f": over {threshold:.0%}, retrain (hybrid train)"
    return SourceStaleness(
        name, trained_version, current, round(doc_share, 4), round(chunk_share, 4), stale, note
    )
