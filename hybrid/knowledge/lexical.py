"""BM25 over chunk texts with bm25s: English stop words and Snowball stemming."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("english")  # stateless; safe to share


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER.stemWords, return_ids=False, show_progress=False
    )


def build(texts: list[str], folder: Path) -> None:
    """Index ``texts`` (row i = texts[i]) and save under ``folder``."""
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER.stemWords, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    retriever.save(str(folder))


def scores(retriever: bm25s.BM25, query: str) -> np.ndarray:
    """(n_rows,) BM25 scores of every row for ``query``; zeros when no query term is known."""
    terms = [t for t in tokenize([query])[0] if t in retriever.vocab_dict]
    if not terms:
        return np.zeros(retriever.scores["num_docs"], dtype=np.float32)
    return retriever.get_scores(terms)
