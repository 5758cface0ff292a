"""The clause model, loaded for inference: one logistic head per clause type over a passage's
TF-IDF (words and word pairs, character n-grams) and its sentence embedding, with a threshold
per type.

``behaviour/clauses.py`` trains it. Saved as plain arrays and JSON (no pickle: loading a model
never runs code): ``clauses.json`` (types, thresholds, flags per contract, vocabulary, idf,
the embedder it was trained with) and ``weights.npz`` (coef (types, vocabularies + dim), intercept
(types,)).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

META, WEIGHTS = "clauses.json", "weights.npz"


# Words and word pairs carry a clause's type ("governed by", "may not assign"); character
# 3-5-grams inside words catch its inflections and the PDFs' broken words ("assign-ment").
ANALYSERS = {
    "words": {"analyzer": "word", "ngram_range": (1, 2), "min_df": 2, "max_features": 50_000},
    "chars": {"analyzer": "char_wb", "ngram_range": (3, 5), "min_df": 3, "max_features": 100_000},
}


def vectorizer(
    kind: str, vocabulary: dict[str, int] | None = None, idf: Sequence[float] | None = None
):
    """A sublinear-TF, L2-normalised TF-IDF of ``ANALYSERS[kind]``: fitted later when
    ``vocabulary`` is None; otherwise rebuilt from a saved vocabulary and idf."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    made = TfidfVectorizer(
        **ANALYSERS[kind], sublinear_tf=True, vocabulary=vocabulary, dtype=np.float32
    )
    if idf is not None:
        made.idf_ = np.asarray(idf, dtype=np.float32)
    return made


def features(vectorizers: dict, texts: Sequence[str], vectors: np.ndarray):
    """(n, sum of vocabularies + dim) sparse: each TF-IDF row beside the sentence embedding."""
    import scipy.sparse as sp

    rows = [v.transform(list(texts)) for v in vectorizers.values()]
    return sp.hstack([*rows, sp.csr_matrix(vectors)]).tocsr()


@dataclass
class ClauseModel:
    """Example: ``ClauseModel.load(folder).probabilities(["This Agreement is governed by the
    laws of Delaware."], vectors)[0, 0]`` -> 0.99 for "Governing Law"."""

    types: list[str]
    thresholds: np.ndarray  # (types,) the confidence a flag needs, chosen on validation
    max_flags: list[int]  # (types,) most flags of a type per contract (training contracts' p90)
    coef: np.ndarray  # (types, words + dim)
    intercept: np.ndarray  # (types,)
    vectorizers: dict  # ANALYSERS' kinds -> fitted TfidfVectorizer
    embedder: str  # the sentence embedder the dense features come from
    trained: dict  # what training recorded (rows, metrics, thresholds' validation F1)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """(n, types) probabilities that each passage is a clause of each type."""
        if not texts:
            return np.zeros((0, len(self.types)), dtype=np.float32)
        logits = features(self.vectorizers, texts, vectors) @ self.coef.T + self.intercept
        return (1.0 / (1.0 + np.exp(-np.asarray(logits)))).astype(np.float32)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "types": self.types,
            "thresholds": [round(float(t), 4) for t in self.thresholds],
            "max_flags": [int(m) for m in self.max_flags],
            "embedder": self.embedder,
            "trained": self.trained,
            "features": {
                kind: {
                    "idf": [round(float(v), 5) for v in made.idf_],
                    "vocabulary": {
                        t: int(i) for t, i in sorted(made.vocabulary_.items(), key=lambda kv: kv[1])
                    },
                }
                for kind, made in self.vectorizers.items()
            },
        }
        (folder / META).write_text(json.dumps(meta, ensure_ascii=False) + "\n", encoding="utf-8")
        # float16 halves the file; the logits move by ~1e-3, far below any threshold's step.
        np.savez_compressed(
            folder / WEIGHTS, coef=self.coef.astype(np.float16), intercept=self.intercept
        )
        return folder

    @classmethod
    def load(cls, folder: Path) -> ClauseModel:
        folder = Path(folder)
        if not (folder / META).is_file() or not (folder / WEIGHTS).is_file():
            raise FileNotFoundError(
                f"{folder}: no clause model ({META} + {WEIGHTS}; train one: hybrid eval clauses)"
            )
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        with np.load(folder / WEIGHTS) as saved:
            coef, intercept = saved["coef"].astype(np.float32), saved["intercept"]
        vectorizers = {
            kind: vectorizer(
                kind, {t: int(i) for t, i in saved["vocabulary"].items()}, saved["idf"]
            )
            for kind, saved in meta["features"].items()
        }
        words = sum(len(v.vocabulary) for v in vectorizers.values())
        if coef.shape[0] != len(meta["types"]) or coef.shape[1] <= words:
            raise ValueError(f"{folder}: {WEIGHTS} does not match {META} (shape {coef.shape})")
        return cls(
            types=list(meta["types"]),
            thresholds=np.asarray(meta["thresholds"], dtype=np.float32),
            max_flags=[int(m) for m in meta["max_flags"]],
            coef=coef,
            intercept=np.asarray(intercept, dtype=np.float32),
            vectorizers=vectorizers,
            embedder=meta["embedder"],
            trained=meta.get("trained", {}),
        )
