"""Split documents into overlapping, word-aligned chunks that keep their provenance."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from hybrid.config import ChunkingConfig
from hybrid.knowledge.loaders import LoadedDocument

# Coarse to fine; no "" at the end, so a chunk never ends inside a word (an over-long single
# "word" such as a URL becomes its own, over-size chunk instead).
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " "]


@dataclass(frozen=True)
class Chunk:
    """A retrievable span of one document. ``chunk_id`` hashes (document, text, occurrence),
    so it is stable while the text is; ``text_hash`` alone keys embedding reuse."""

    chunk_id: str
    doc_id: str
    text: str
    char_start: int
    char_end: int
    page_start: int | None
    page_end: int | None
    heading: str
    text_hash: str


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Chunker:
    """Token- (or character-) bounded splitting on top of LangChain's recursive splitter.

    Example: ``Chunker(ChunkingConfig(unit="chars", size=500, overlap=50)).split(doc)``
    """

    def __init__(self, config: ChunkingConfig, count_tokens: Callable[[str], int] | None = None):
        if config.unit == "tokens" and count_tokens is None:
            raise ValueError("chunking.unit='tokens' needs the embedder's token counter")
        self.config = config
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=config.size,
            chunk_overlap=config.overlap,
            length_function=count_tokens if config.unit == "tokens" else len,
            separators=SEPARATORS,
            keep_separator="end",
            add_start_index=False,  # its offset guess mixes tokens and characters; see split()
            strip_whitespace=True,
        )

    def split(self, document: LoadedDocument) -> list[Chunk]:
        # Chunks are verbatim, in order, so each starts after the previous chunk's start.
        heading_offsets = [offset for offset, _ in document.headings]
        seen: Counter[str] = Counter()
        chunks = []
        start = -1
        for text in self._splitter.split_text(document.text):
            start = document.text.find(text, start + 1)
            if start < 0:
                raise RuntimeError(f"bug: chunk not found verbatim in {document.doc_id}")
            end = start + len(text)
            page_start = page_end = None
            if document.page_starts:
                page_start = bisect_right(document.page_starts, start)
                page_end = bisect_right(document.page_starts, end - 1)
            index = bisect_right(heading_offsets, start) - 1
            heading = document.headings[index][1] if index >= 0 else ""
            digest = text_hash(text)
            occurrence = seen[digest]
            seen[digest] += 1
            chunk_id = hashlib.sha256(
                f"{document.doc_id}\x00{digest}\x00{occurrence}".encode()
            ).hexdigest()[:32]
            chunks.append(
                Chunk(
                    chunk_id,
                    document.doc_id,
                    text,
                    start,
                    end,
                    page_start,
                    page_end,
                    heading,
                    digest,
                )
            )
        return chunks
