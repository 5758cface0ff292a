"""Configuration of the knowledge layer: embedding, chunking, the index, ingestion, search."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from hybrid.embedded import EMBEDDED_EMBEDDER
from hybrid.precision import DType
from hybrid.schema import Strict


class EmbedderConfig(Strict):
    """Which sentence-transformers model embeds chunks and queries."""

    model: str = EMBEDDED_EMBEDDER
    batch_size: int = Field(64, gt=0, le=4096)
    dtype: DType = "auto"
    device: str = "auto"
    max_seq_length: int | None = Field(None, gt=0)


class ChunkingConfig(Strict):
    """Chunk bounds, in tokens of the embedder's tokenizer (or characters)."""

    unit: Literal["tokens", "chars"] = "tokens"
    size: int = Field(200, gt=0)
    overlap: int = Field(40, ge=0)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingConfig:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


class IndexConfig(Strict):
    """The FAISS structure: exact flat search by default; HNSW or IVF for large collections;
    for tens of millions of chunks IVF-SQ (8-bit scalar-quantised lists: 1/4 of the memory,
    IVF's recall) or IVF-PQ (product-quantised lists: ~1/32 of the memory, far lower recall;
    benchmarks/bench_ivfpq.py)."""

    kind: Literal["flat", "hnsw", "ivf", "ivfsq", "ivfpq"] = "flat"
    hnsw_m: int = Field(32, ge=4, le=256)
    hnsw_ef_search: int = Field(64, ge=1)
    ivf_nlist: int = Field(256, ge=1)
    ivf_nprobe: int = Field(16, ge=1)
    pq_m: int = Field(48, ge=1)  # sub-vectors per vector (must divide the dimension): 48 bytes
    pq_nbits: int = Field(8, ge=4, le=12)  # bits per sub-vector code


class IngestConfig(Strict):
    """What a sync accepts; everything else is reported and skipped."""

    max_file_mb: float = Field(50.0, gt=0)
    max_pdf_pages: int = Field(2000, gt=0)
    # Bytes do not bound work: a 240 KB PDF of 1,500 pages sharing one content stream gave
    # 9,000 chunks. Past these, the document is refused and its previous version stays.
    max_chars: int = Field(5_000_000, gt=0)  # extracted text
    max_chunks: int = Field(5_000, gt=0)
    max_seconds: float = Field(120.0, gt=0)  # text extraction (checked between PDF pages)
    lock_timeout_s: float = Field(600.0, ge=0)


class SearchConfig(Strict):
    """Default retrieval mode and fusion settings."""

    mode: Literal["dense", "bm25", "hybrid"] = "hybrid"
    top_k: int = Field(5, gt=0, le=1000)
    candidates: int = Field(50, gt=0, le=10000)
    rrf_k: int = Field(60, gt=0)
    dense_weight: float = Field(1.0, ge=0)
    bm25_weight: float = Field(1.0, ge=0)


class KnowledgeConfig(Strict):
    """What indexing and syncing read: ``HybridConfig.knowledge`` (the recipe keeps these
    sections at its top level).

    Example: ``load_config().knowledge.chunking.size == 200``
    """

    index_dir: Path = Path("indexes")
    embedder: EmbedderConfig = EmbedderConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    index: IndexConfig = IndexConfig()
    ingest: IngestConfig = IngestConfig()
    search: SearchConfig = SearchConfig()
