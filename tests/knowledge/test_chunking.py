import pytest

from hybrid.config import ChunkingConfig
from hybrid.knowledge.chunking import Chunker
from hybrid.knowledge.loaders import LoadedDocument

WORDS = "the customer may return unused items within thirty days of delivery for a refund".split()


def _doc(text: str, page_starts=(), headings=()) -> LoadedDocument:
    return LoadedDocument(
        "d.txt", "text", text, "h", len(text), tuple(page_starts), tuple(headings)
    )


def _long_text(n_paragraphs: int = 12) -> str:
    return "\n\n".join(
        " ".join(WORDS[(i + j) % len(WORDS)] for j in range(40 + 7 * i)) + "."
        for i in range(n_paragraphs)
    )


def test_chunks_are_verbatim_with_offsets_and_overlap():
    text = _long_text()
    chunks = Chunker(ChunkingConfig(unit="chars", size=300, overlap=60)).split(_doc(text))
    assert len(chunks) > 5
    for a, b in zip(chunks, chunks[1:]):
        assert b.char_start > a.char_start
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        assert len(chunk.text) <= 300
    assert any(b.char_start < a.char_end for a, b in zip(chunks, chunks[1:]))  # overlap exists


def test_never_splits_inside_a_word():
    text = _long_text()
    for chunk in Chunker(ChunkingConfig(unit="chars", size=120, overlap=20)).split(_doc(text)):
        before = text[chunk.char_start - 1] if chunk.char_start else " "
        after = text[chunk.char_end] if chunk.char_end < len(text) else " "
        assert not before.isalnum() and not after.isalnum(), chunk.text


def test_token_bounds_use_the_embedder_tokenizer(embedder):
    text = _long_text()
    chunker = Chunker(ChunkingConfig(unit="tokens", size=64, overlap=16), embedder.count_tokens)
    chunks = chunker.split(_doc(text))
    assert all(embedder.count_tokens(c.text) <= 64 for c in chunks)
    assert max(embedder.count_tokens(c.text) for c in chunks) > 40  # chunks are filled


def test_tokens_unit_needs_a_counter():
    with pytest.raises(ValueError, match="token counter"):
        Chunker(ChunkingConfig(unit="tokens"))


def test_pages_and_headings_follow_offsets():
    pages = ["alpha " * 60, "beta " * 60, "gamma " * 60]
    text = "\n\n".join(p.strip() for p in pages)
    starts = [0]
    for p in pages[:-1]:
        starts.append(starts[-1] + len(p.strip()) + 2)
    doc = _doc(text, starts, [(0, "Intro"), (starts[2], "Intro > Last")])
    chunks = Chunker(ChunkingConfig(unit="chars", size=200, overlap=0)).split(doc)
    assert chunks[0].page_start == 1 and chunks[-1].page_end == 3
    for chunk in chunks:
        word = {1: "alpha", 2: "beta", 3: "gamma"}
        assert word[chunk.page_start] in chunk.text and word[chunk.page_end] in chunk.text
        assert chunk.heading == ("Intro > Last" if chunk.char_start >= starts[2] else "Intro")


def test_ids_are_stable_and_unique_even_for_repeated_text():
    text = "same words here.\n\n" * 6
    chunker = Chunker(ChunkingConfig(unit="chars", size=20, overlap=0))
    first, second = chunker.split(_doc(text)), chunker.split(_doc(text))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == len(first)
    assert len({c.text_hash for c in first}) == 1
