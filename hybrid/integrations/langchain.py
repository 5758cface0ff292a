"""LangChain: a collection as a ``BaseRetriever`` and our loaders as a ``BaseLoader``.

Both return ``Document``s whose metadata carries our provenance (document, pages, heading,
chunk id, offsets, score), so an LCEL chain can cite like the router does. Local use: no keys,
no ACL (the server's permissions apply to HTTP callers, not to code that opens the index).

Example::

    retriever = HybridRetriever.open(Path("indexes"), "acme-policies", Embedder(EmbedderConfig()))
    chain = retriever | format_docs | prompt | llm
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from hybrid.config import IngestConfig, SearchConfig
from hybrid.knowledge import store
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.loaders import LoadError, load_bytes, read_file
from hybrid.knowledge.search import Filters, Mode, Retriever, SearchResult
from hybrid.knowledge.sync import scan_folder


class HybridRetriever(BaseRetriever):
    """Top-``k`` chunks of one collection (hybrid, dense or BM25), optionally only from some
    documents (ids or globs) or a page range. A newer synced version is picked up per query."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    collection: str
    k: int = 5
    mode: Mode | None = None  # None: the search config's mode (hybrid by default)
    documents: tuple[str, ...] = ()
    pages: tuple[int, int] | None = None
    _retriever: Retriever = PrivateAttr()

    @classmethod
    def open(
        cls,
        index_dir: Path,
        collection: str,
        embedder: Embedder,
        search: SearchConfig = SearchConfig(),
        k: int = 5,
        mode: Mode | None = None,
        documents: tuple[str, ...] = (),
        pages: tuple[int, int] | None = None,
    ) -> HybridRetriever:
        coll = store.collection_dir(index_dir, collection)
        if store.current_version(coll) is None:
            raise FileNotFoundError(f"no collection {collection!r} under {index_dir}")
        retriever = cls(collection=collection, k=k, mode=mode, documents=documents, pages=pages)
        retriever._retriever = Retriever(coll, embedder, search)
        return retriever

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        self._retriever.refresh()
        filters = Filters(self.documents, self.pages)
        hits = self._retriever.search(query, k=self.k, mode=self.mode, filters=filters)
        return [as_document(hit, self.collection) for hit in hits]


def as_document(hit: SearchResult, collection: str) -> Document:
    """A search result as a LangChain ``Document`` with its provenance in ``metadata``."""
    return Document(
        page_content=hit.text,
        id=hit.chunk_id,
        metadata={
            "collection": collection,
            "document": hit.doc_id,
            "pages": hit.pages or None,
            "page_start": hit.page_start,
            "page_end": hit.page_end,
            "heading": hit.heading,
            "chunk_id": hit.chunk_id,
            "char_start": hit.char_start,
            "char_end": hit.char_end,
            "score": hit.score,
            "similarity": hit.similarity,
            "rank": hit.rank,
        },
    )


class HybridLoader(BaseLoader):
    """PDF (one ``Document`` per page, numbered as printed by the PDF's order), Markdown, text
    and HTML (one per file) from a file or a folder, parsed by hybrid's own loaders (the same
    text the index holds). A file that fails to parse is skipped and listed in ``failed``."""

    def __init__(self, path: Path, ingest: IngestConfig = IngestConfig()):
        self.path, self.ingest = Path(path), ingest
        self.failed: dict[str, str] = {}

    def lazy_load(self) -> Iterator[Document]:
        files = scan_folder(self.path) if self.path.is_dir() else {self.path.name: self.path}
        for doc_id, file in files.items():
            try:
                loaded = load_bytes(read_file(file, self.ingest), doc_id, self.ingest)
            except LoadError as error:
                self.failed[doc_id] = str(error)
                continue
            base = {"document": doc_id, "kind": loaded.kind, "content_hash": loaded.content_hash}
            bounds = [*loaded.page_starts, len(loaded.text)]
            if not loaded.page_starts:
                yield Document(page_content=loaded.text, metadata=base | {"page": None})
                continue
            for page, (start, end) in enumerate(zip(bounds, bounds[1:]), start=1):
                meta = base | {"page": page, "char_start": start, "char_end": end}
                yield Document(page_content=loaded.text[start:end], metadata=meta)
