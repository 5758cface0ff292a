from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from hybrid.config import EmbedderConfig
from hybrid.errors import Conflict
from hybrid.knowledge import store
from hybrid.knowledge.loaders import LoadError
from hybrid.knowledge.search import Retriever
from hybrid.knowledge.sync import (
    CollectionLocked,
    clean_stale,
    collection_info,
    delete_document,
    put_document,
    sync_folder,
)
from tests.conftest import make_config, write_docs


def _snapshot(config, name="c"):
    return store.load_snapshot(store.collection_dir(config.index_dir, name))


def _texts(config, name="c"):
    snap = _snapshot(config, name)
    return {r["doc_id"] for r in snap.db.execute("SELECT doc_id FROM chunks")}, snap


def test_first_sync_then_nothing_to_do(config, docs_folder, embedder):
    first = sync_folder("c", docs_folder, config.knowledge, embedder)
    assert sorted(first.added) == ["privacy.html", "refunds.md", "shipping.txt"]
    assert first.chunks_embedded > 0 and not first.failed
    second = sync_folder("c", docs_folder, config.knowledge, embedder)
    assert second.unchanged == sorted(first.added) and not second.changed
    assert second.chunks_embedded == 0 and second.version == first.version


def test_update_and_delete_remove_for_real(config, docs_folder, embedder):
    sync_folder("c", docs_folder, config.knowledge, embedder)
    before = _snapshot(config)
    n_before = before.dense.ntotal
    (docs_folder / "shipping.txt").write_text(
        "Shipping is free on orders over 75 EUR. Parcels travel with our carrier partners."
    )
    (docs_folder / "privacy.html").unlink()
    report = sync_folder("c", docs_folder, config.knowledge, embedder)
    assert report.updated == ["shipping.txt"] and report.removed == ["privacy.html"]
    assert report.unchanged == ["refunds.md"]
    doc_ids, snap = _texts(config)
    assert doc_ids == {"refunds.md", "shipping.txt"}
    assert snap.dense.ntotal == len(snap.bm25_ids) < n_before
    stored = set(np.asarray(snap.bm25_ids).tolist())
    from hybrid.knowledge.dense import ids_of

    assert set(ids_of(snap.dense).tolist()) == stored  # FAISS and BM25 agree
    retriever = Retriever(store.collection_dir(config.index_dir, "c"), embedder, config.search)
    for mode in ("dense", "bm25", "hybrid"):
        hits = retriever.search("analytics cookies consent", k=10, mode=mode)
        assert all(h.doc_id != "privacy.html" for h in hits)
    hits = retriever.search("free shipping over 75 EUR", k=1, mode="bm25")
    assert hits[0].doc_id == "shipping.txt" and "75 EUR" in hits[0].text


def test_unchanged_text_reuses_vectors(config, docs_folder, embedder):
    path = docs_folder / "long.md"
    path.write_text(
        "\n\n".join(f"Paragraph {i} says something different about returns." * 4 for i in range(6))
    )
    sync_folder("c", docs_folder, config.knowledge, embedder)
    path.write_text(path.read_text() + "\n\n## Contact\n\nWrite to returns@example.com.\n")
    report = sync_folder("c", docs_folder, config.knowledge, embedder)
    assert report.updated == ["long.md"]
    assert report.chunks_reused >= 1 and report.chunks_embedded >= 1


def test_bad_files_are_reported_and_good_versions_kept(config, docs_folder, embedder):
    sync_folder("c", docs_folder, config.knowledge, embedder)
    write_docs(
        docs_folder,
        {
            "broken.pdf": b"%PDF-1.4 nonsense",
            "empty.txt": b"",
            "notes.docx": b"PK",
            "good.md": "# New\n\nA new document.",
            ".hidden.md": "ignored",
        },
    )
    (docs_folder / "shipping.txt").write_bytes("d\xe9j\xe0 vu".encode("latin-1"))
    report = sync_folder("c", docs_folder, config.knowledge, embedder)
    assert report.added == ["good.md"]
    assert set(report.failed) == {"broken.pdf", "empty.txt", "notes.docx", "shipping.txt"}
    assert "UTF-8" in report.failed["shipping.txt"]
    doc_ids, _ = _texts(config)
    assert "shipping.txt" in doc_ids  # the previous good version is not lost


def test_embedder_mismatch_is_refused(tmp_path, docs_folder, embedder):
    config = make_config(tmp_path)
    sync_folder("c", docs_folder, config.knowledge, embedder)

    class Other:  # only the identity matters for the check; no second model needed
        name, dimension = "other-model", 768

    (docs_folder / "new.txt").write_text("new text")
    with pytest.raises(Conflict, match="other-model"):
        sync_folder("c", docs_folder, config.knowledge, Other())  # type: ignore[arg-type]
    assert (
        EmbedderConfig().model
        in collection_info(store.collection_dir(config.index_dir, "c")).meta.embedder
    )


def test_second_sync_waits_then_fails_clearly(tmp_path, docs_folder, embedder):
    config = make_config(tmp_path, ingest={"lock_timeout_s": 0.2})
    coll = store.collection_dir(config.index_dir, "c")
    coll.mkdir(parents=True)
    with FileLock(str(coll / store.LOCK)):
        with pytest.raises(CollectionLocked, match="being synced by another process"):
            sync_folder("c", docs_folder, config.knowledge, embedder)


def test_chunking_change_rechunks_everything(tmp_path, docs_folder, embedder):
    sync_folder("c", docs_folder, make_config(tmp_path).knowledge, embedder)
    smaller = make_config(tmp_path, chunking={"unit": "chars", "size": 80, "overlap": 10})
    report = sync_folder("c", docs_folder, smaller.knowledge, embedder)
    assert len(report.updated) == 3
    assert all(
        len(t) <= 80
        for t in (r[0] for r in _snapshot(smaller).db.execute("SELECT text FROM chunks"))
    )


def test_a_newer_parser_rereads_every_document_once(tmp_path, docs_folder, embedder, monkeypatch):
    config = make_config(tmp_path).knowledge
    sync_folder("c", docs_folder, config, embedder)
    # An upgrade whose loaders extract other text (tables as lines, say): same bytes, but
    # every file is read again, or the index keeps the old text until each file is edited.
    from hybrid.knowledge import builder, sync

    monkeypatch.setattr(sync, "PARSER", 99)
    monkeypatch.setattr(builder, "PARSER", 99)
    assert len(sync_folder("c", docs_folder, config, embedder).updated) == 3
    assert len(sync_folder("c", docs_folder, config, embedder).unchanged) == 3


def test_one_upload_under_new_settings_leaves_the_rest_to_be_reread(
    tmp_path, docs_folder, embedder
):
    sync_folder("c", docs_folder, make_config(tmp_path).knowledge, embedder)
    smaller = make_config(tmp_path, chunking={"unit": "chars", "size": 80, "overlap": 10})
    put_document("c", "faq/new.md", b"# FAQ\n\nGift cards never expire.", smaller.knowledge,
                 embedder)  # fmt: skip
    # The collection still records the old settings: the folder's files were chunked by them.
    report = sync_folder("c", docs_folder, smaller.knowledge, embedder)
    assert len(report.updated) == 3 and report.kept == {"faq/new.md": "api"}
    texts = [r[0] for r in _snapshot(smaller).db.execute("SELECT text FROM chunks")]
    assert all(len(t) <= 80 for t in texts)


def test_put_and_delete_single_documents(config, docs_folder, embedder):
    sync_folder("c", docs_folder, config.knowledge, embedder)
    report = put_document(
        "c", "faq/new.md", b"# FAQ\n\nGift cards never expire.", config.knowledge, embedder
    )
    assert report.added == ["faq/new.md"]
    assert put_document(
        "c", "faq/new.md", b"# FAQ\n\nGift cards never expire.", config.knowledge, embedder
    ).unchanged == ["faq/new.md"]
    with pytest.raises(LoadError):
        put_document("c", "bad.pdf", b"not a pdf", config.knowledge, embedder)
    assert delete_document("c", "faq/new.md", config.knowledge, embedder).removed == ["faq/new.md"]
    with pytest.raises(KeyError):
        delete_document("c", "faq/new.md", config.knowledge, embedder)


@pytest.mark.parametrize("kind", ["hnsw", "ivf", "ivfsq"])
def test_approximate_index_kinds_add_and_delete(tmp_path, docs_folder, embedder, kind):
    config = make_config(tmp_path, index={"kind": kind})
    sync_folder("c", docs_folder, config.knowledge, embedder)
    (docs_folder / "refunds.md").unlink()
    sync_folder("c", docs_folder, config.knowledge, embedder)
    doc_ids, snap = _texts(config)
    assert doc_ids == {"privacy.html", "shipping.txt"} and snap.dense.ntotal == len(snap.bm25_ids)
    retriever = Retriever(store.collection_dir(config.index_dir, "c"), embedder, config.search)
    assert (
        retriever.search("express delivery before 2 pm", k=1, mode="dense")[0].doc_id
        == "shipping.txt"
    )


def test_old_versions_are_collected(config, docs_folder, embedder):
    for i in range(4):
        (docs_folder / "counter.txt").write_text(f"revision {i}")
        sync_folder("c", docs_folder, config.knowledge, embedder)
    versions = sorted(
        p.name for p in (store.collection_dir(config.index_dir, "c") / "versions").iterdir()
    )
    assert versions == ["000003", "000004"]


def test_missing_folder_is_a_value_error(config, embedder, tmp_path: Path):
    with pytest.raises(ValueError, match="is not a folder"):
        sync_folder("c", tmp_path / "nope", config.knowledge, embedder)
    with pytest.raises(ValueError, match="collection name"):
        sync_folder("../evil", tmp_path, config.knowledge, embedder)


def test_a_killed_syncs_leftovers_are_cleaned_unless_a_writer_holds_the_lock(
    config, docs_folder, embedder
):
    sync_folder("shop", docs_folder, config.knowledge, embedder)
    coll = store.collection_dir(config.index_dir, "shop")
    debris = coll / "versions" / ".tmp-killed"
    debris.mkdir()
    (debris / "chunks.sqlite").write_bytes(b"half written" * 1000)
    with FileLock(str(coll / store.LOCK)):  # a live writer: its temporary folder is its own
        assert clean_stale(config.index_dir) == []
        assert debris.exists()
    assert clean_stale(config.index_dir) == ["shop"] and not debris.exists()
    assert clean_stale(config.index_dir) == []  # nothing left to clean
    assert store.current_version(coll) is not None  # the live version is untouched


def test_work_limits_refuse_a_document_and_keep_its_previous_version(tmp_path, embedder):
    folder = write_docs(tmp_path / "docs", {"big.md": "# Big\n\nShort at first.\n"})
    config = make_config(tmp_path, ingest={"max_chunks": 3, "max_chars": 5000})
    sync_folder("limits", folder, config.knowledge, embedder)
    (folder / "big.md").write_text("# Big\n\n" + "Many words here. " * 200)  # ~3,400 chars
    report = sync_folder("limits", folder, config.knowledge, embedder)
    assert "over ingest.max_chunks=3" in report.failed["big.md"] and not report.updated
    retriever = Retriever(store.collection_dir(config.index_dir, "limits"), embedder, config.search)
    assert "Short at first" in retriever.search("short", k=1)[0].text  # the old version stays
    (folder / "big.md").write_text("# Big\n\n" + "x " * 3000)
    report = sync_folder("limits", folder, config.knowledge, embedder)
    assert "over ingest.max_chars=5,000" in report.failed["big.md"]


def test_folder_sync_keeps_uploads_unless_pruned(config, docs_folder, embedder):
    sync_folder("shop", docs_folder, config.knowledge, embedder)
    put_document(
        "shop",
        "uploaded.md",
        b"# Gift cards\n\nGift cards never expire.",
        config.knowledge,
        embedder,
    )
    (docs_folder / "shipping.txt").unlink()  # this folder's own document: goes
    report = sync_folder("shop", docs_folder, config.knowledge, embedder)
    assert report.removed == ["shipping.txt"] and report.kept == {"uploaded.md": "api"}
    info = collection_info(store.collection_dir(config.index_dir, "shop"))
    origins = {d.doc_id: d.origin for d in info.documents}
    assert origins["uploaded.md"] == "api"
    assert origins["refunds.md"] == f"folder:{docs_folder.resolve()}"
    before = store.current_version(store.collection_dir(config.index_dir, "shop"))
    plan = sync_folder("shop", docs_folder, config.knowledge, embedder, prune=True, dry_run=True)
    assert plan.dry_run and plan.removed == ["uploaded.md"] and plan.version is None
    assert store.current_version(store.collection_dir(config.index_dir, "shop")) == before
    pruned = sync_folder("shop", docs_folder, config.knowledge, embedder, prune=True)
    assert pruned.removed == ["uploaded.md"] and not pruned.kept
