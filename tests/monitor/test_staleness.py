"""Staleness: a RAFT adapter's card against its collections now."""

from __future__ import annotations

from hybrid.knowledge import store
from hybrid.knowledge.sync import live_contents, sync_folder
from hybrid.models.cards import AdapterCard, BuiltSource, RaftRecord, RaftSnapshot
from hybrid.monitor.staleness import staleness
from tests.conftest import THREE_DOCS, make_config, write_docs


def _card(source: BuiltSource) -> AdapterCard:
    raft = RaftRecord(snapshot=RaftSnapshot(sources=[source], embedder="e"))
    return AdapterCard(name="a", base_model="x", raft=raft)


def test_staleness_measures_what_changed_since_training(tmp_path, embedder):
    config = make_config(tmp_path)
    docs = write_docs(tmp_path / "docs", THREE_DOCS)
    sync_folder("raft-0-kb", docs, config.knowledge, embedder)
    coll = store.collection_dir(config.index_dir, "raft-0-kb")
    documents, chunk_ids = live_contents(coll)
    trained = BuiltSource(
        kind="kb", path="q.jsonl", route="support", collection="raft-0-kb", version="000001",
        questions=3, examples=3, documents=documents, chunk_ids=chunk_ids,
    )  # fmt: skip
    card = _card(trained)
    [same] = staleness(card, config.index_dir, 0.2)
    assert (same.documents_changed, same.chunks_changed, same.stale) == (0.0, 0.0, False)

    (docs / "shipping.txt").write_text("Standard delivery now takes 2 business days.\n")
    sync_folder("raft-0-kb", docs, config.knowledge, embedder)
    [moved] = staleness(card, config.index_dir, 0.2)
    assert moved.current_version == "000002" and moved.documents_changed == round(1 / 3, 4)
    assert 0 < moved.chunks_changed < 1 and moved.stale and "retrain" in moved.note
    [lenient] = staleness(card, config.index_dir, 0.9)
    assert lenient.stale is False

    old = _card(trained.model_copy(update={"documents": {}, "chunk_ids": []}))
    [unknown] = staleness(old, config.index_dir, 0.2)
    assert unknown.stale is None and "predates" in unknown.note
    gone = _card(trained.model_copy(update={"collection": "raft-9-kb"}))
    [missing] = staleness(gone, config.index_dir, 0.2)
    assert missing.current_version is None and missing.stale is None
    assert staleness(AdapterCard(name="plain", base_model="x"), config.index_dir, 0.2) == []
