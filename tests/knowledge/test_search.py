from pathlib import Path

import pytest

from hybrid.knowledge import lexical, search, store
from hybrid.knowledge.search import Filters, Retriever, SearchResult
from hybrid.knowledge.sync import sync_folder
from tests.conftest import CONTRACTS, make_config, require_shared


@pytest.fixture
def retriever(config, docs_folder, embedder):
    sync_folder("c", docs_folder, config.knowledge, embedder)
    return Retriever(store.collection_dir(config.index_dir, "c"), embedder, config.search)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_finds_the_right_document(retriever, mode):
    hits = retriever.search("How long do refunds take after inspection?", k=3, mode=mode)
    assert isinstance(hits[0], SearchResult) and hits[0].doc_id == "refunds.md"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_source_filter_exact_and_glob(retriever):
    hits = retriever.search("business days", k=10, filters=Filters(sources=("shipping.txt",)))
    assert hits and {h.doc_id for h in hits} == {"shipping.txt"}
    hits = retriever.search("business days", k=10, filters=Filters(sources=("*.md", "*.html")))
    assert hits and {h.doc_id for h in hits} <= {"refunds.md", "privacy.html"}


def test_empty_query_and_bad_filters_are_value_errors(retriever):
    with pytest.raises(ValueError, match="empty"):
        retriever.search("   ")
    with pytest.raises(ValueError, match="pages"):
        Filters(pages=(5, 2))
    with pytest.raises(ValueError, match="mode"):
        retriever.search("x", mode="fuzzy")  # type: ignore[arg-type]


def test_refresh_sees_a_new_version(retriever, config, docs_folder, embedder):
    (docs_folder / "gift.txt").write_text("Gift cards never expire and can be used online.")
    assert retriever.search("gift cards expire", k=1, mode="bm25") == []  # no term matches yet
    sync_folder("c", docs_folder, config.knowledge, embedder)
    assert retriever.refresh()
    assert retriever.search("gift cards expire", k=1, mode="bm25")[0].doc_id == "gift.txt"
    assert not retriever.refresh()


def test_openings_are_each_documents_first_chunk_per_version(
    retriever, config, docs_folder, embedder, monkeypatch
):
    # A document of several chunks: its first one, not its last, opens it.
    long = "Quillhouse opens this guide. " + "Each order ships in a box of card. " * 30
    (docs_folder / "guide.txt").write_text(long + "Northwind closes it.\n")
    sync_folder("c", docs_folder, config.knowledge, embedder)
    retriever.refresh()
    assert len(retriever.overlapping("guide.txt", [(0, len(long))])) > 2
    opened = retriever.openings()
    first = dict(opened)
    assert set(first) == set(retriever.documents())
    for doc_id, terms in first.items():
        chunk = retriever.overlapping(doc_id, [(0, 1)])[0]
        assert chunk.char_start == 0 and terms == lexical.tokenize([chunk.text])[0]
    assert "quillhous" in first["guide.txt"] and "northwind" not in first["guide.txt"]
    (docs_folder / "refunds.md").write_text("Refunds by Zephyrine arrive within 5 days.\n")
    sync_folder("c", docs_folder, config.knowledge, embedder)
    assert retriever.openings() is opened  # read once per version
    retriever.refresh()
    assert "zephyrin" in dict(retriever.openings())["refunds.md"]  # the new version's
    monkeypatch.setattr(search, "MAX_OPENINGS", len(first) - 1)
    (docs_folder / "gift.txt").write_text("Gift cards never expire.\n")
    sync_folder("c", docs_folder, config.knowledge, embedder)
    retriever.refresh()
    assert retriever.openings() is None  # too many documents to be one owner's


@pytest.mark.integration
def test_real_contracts_page_filter_and_provenance(tmp_path, embedder):
    folder = require_shared(CONTRACTS)
    config = make_config(tmp_path, chunking={"unit": "tokens", "size": 200, "overlap": 40})
    name = "HerImports_20161018_8-KA_EX-10.14_9765707_EX-10.14_Maintenance Agreement.pdf"
    sub = tmp_path / "pdfs"
    sub.mkdir()
    (sub / name).write_bytes((folder / name).read_bytes())
    report = sync_folder("k", sub, config.knowledge, embedder)
    assert report.added == [name]
    retriever = Retriever(store.collection_dir(config.index_dir, "k"), embedder, config.search)
    hit = retriever.search("governing law", k=1)[0]
    assert (
        hit.doc_id == name and hit.page_start <= 3 <= hit.page_end and "GOVERNING LAW" in hit.text
    )
    hits = retriever.search("governing law", k=5, filters=Filters(pages=(5, 6)))
    assert hits and all(h.page_end >= 5 for h in hits)


def test_a_sentence_is_cited_on_its_own_page(tmp_path, embedder):
    """A chunk across a page break keeps its range; each of its sentences gets its own page."""
    from hybrid.answer import sentences
    from hybrid.knowledge.loaders import load_bytes
    from hybrid.knowledge.search import Retriever
    from hybrid.knowledge.sync import sync_folder

    pdf = (
        Path(__file__).resolve().parents[2]
        / "evals/data/kb/heldout/docs/orbitly-mobile-billing.pdf"
    )
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / pdf.name).write_bytes(pdf.read_bytes())
    # Chunks larger than a page, so that one spans the page break.
    config = make_config(tmp_path, chunking={"unit": "chars", "size": 6000, "overlap": 0})
    sync_folder("bills", folder, config.knowledge, embedder)
    retriever = Retriever(tmp_path / "indexes" / "bills", embedder, config.search)
    starts = load_bytes(pdf.read_bytes(), pdf.name, config.ingest).page_starts
    across = [
        c for c in retriever.overlapping(pdf.name, [(0, 10**9)]) if c.page_start != c.page_end
    ]
    assert across, "the fixture PDF should have a chunk across its page break"
    pages = set()
    for sentence in sentences.split(across[0]):
        pinned = retriever.pinpoint(sentence)
        expected = 1 + sum(s <= sentence.char_start for s in starts[1:])
        assert pinned.page_start == pinned.page_end == expected
        pages.add(expected)
    assert pages == {across[0].page_start, across[0].page_end}  # both pages were seen
    assert retriever.page_at("nope.pdf", 0) is None
