"""Sentence-transformers embeddings: normalised float32 vectors, batched, bf16 where fast."""

from __future__ import annotations

import numpy as np

from hybrid.config import EmbedderConfig
from hybrid.embedded import resolve_model
from hybrid.precision import best_device, resolve_dtype


class Embedder:
    """Loads the model once; ``embed`` for chunks, ``embed_query`` for queries.

    Example: ``Embedder(EmbedderConfig()).embed(["refund window"]).shape == (1, 384)``
    """

    def __init__(self, config: EmbedderConfig):
        from sentence_transformers import SentenceTransformer

        self.config = config
        self.name = config.model
        device = best_device() if config.device == "auto" else config.device
        self.dtype = resolve_dtype(config.dtype, device)
        self.model = SentenceTransformer(
            resolve_model(config.model), device=device, model_kwargs={"dtype": self.dtype}
        )
        if config.max_seq_length:
            self.model.max_seq_length = config.max_seq_length
        self.dimension = int(self.model.get_embedding_dimension())
        self.tokenizer = self.model.tokenizer

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees, without special tokens."""
        # verbose=False: whole documents exceed max_seq_length here, which is expected.
        return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """(n, dimension) float32, L2-normalised, so inner product is cosine."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode_document(
            texts,
            batch_size=self.config.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, query: str) -> np.ndarray:
        """(1, dimension) float32; uses the model's query prompt where it defines one."""
        vector = self.model.encode_query(
            [query], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vector, dtype=np.float32)
