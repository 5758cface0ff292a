"""Evidence sentences: splitting keeps offsets and provenance; selection ranks by the question."""

from __future__ import annotations

from hybrid import evidence
from hybrid.knowledge.search import SearchResult

DOC = (
    "# Returns\n\nYou may return unused items within 30 days. Sale items are refunded at the "
    "price you paid, e.g. 5.95 EUR.\n- Gift cards cannot be returned or refunded.\nShort line.\n"
    '"Quoted rules end here." Next one starts after a quote.'
)


def chunk(text: str, start: int = 100) -> SearchResult:
    return SearchResult(1, 0.5, "c1", "returns.md", text, 2, 3, "Returns", start, start + len(text))


def test_split_keeps_sentences_offsets_and_provenance():
    pieces = evidence.split(chunk(DOC))
    assert [p.text for p in pieces] == [
        "You may return unused items within 30 days.",
        "Sale items are refunded at the price you paid, e.g. 5.95 EUR.",
        "Gift cards cannot be returned or refunded.",  # the bullet marker is not evidence
        '"Quoted rules end here."',
        "Next one starts after a quote.",
    ]  # the heading and the two-word sentence are dropped
    for piece in pieces:
        assert DOC[piece.char_start - 100 : piece.char_end - 100] == piece.text
        assert (piece.chunk_id, piece.doc_id, piece.pages, piece.heading) == (
            "c1",
            "returns.md",
            "2-3",
            "Returns",
        )


def test_select_ranks_by_the_question_and_drops_repeats(embedder):
    first = chunk(DOC)
    overlap = chunk("Sale items are refunded at the price you paid, e.g. 5.95 EUR.", 160)
    question = "At what price are sale items refunded?"
    chosen = evidence.select(
        question, embedder.embed_query(question), [first, overlap], embedder.embed, 3, 0.3
    )
    assert len(chosen) == 3
    assert chosen[0].sentence.text.startswith("Sale items are refunded")
    assert len({c.sentence.text for c in chosen}) == 3  # the overlapping chunk's copy is dropped
    assert chosen[0].score >= chosen[1].score >= chosen[2].score
    assert chosen[0].vector.shape == (embedder.dimension,)
    assert evidence.select(question, embedder.embed_query(question), [], embedder.embed, 3, 0) == []
