"""Train the clause model: a logistic head per clause type on CUAD's labelled clause texts.

Words carry most of a clause's type ("governed by the laws of", "may not assign"), the sentence
embedding the paraphrases; together they beat the embedding alone on held-out contracts (README,
"Risky-clause flags"). The regularisation and each type's threshold are chosen on validation
contracts the heads never saw; then the heads are refitted on both. Minutes on a CPU, most of
them embedding the texts.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from hybrid.datasets.cuad import ClauseText
from hybrid.knowledge.embedder import Embedder
from hybrid.models.clauses import ANALYSERS, ClauseModel, features, vectorizer

THRESHOLDS = np.round(np.arange(0.3, 0.96, 0.05), 2)  # the grid a type's threshold comes from
STRENGTHS = (4.0, 16.0, 64.0)  # inverse L2 strengths C tried; validation picks one


def targets(texts: Sequence[ClauseText], types: Sequence[str]) -> np.ndarray:
    """(n, types) bool: which of ``types`` each text is labelled with."""
    return np.array([[t in c.types for t in types] for c in texts], dtype=bool).reshape(
        len(texts), len(types)
    )


def f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(gold & predicted))
    return 2 * tp / (float(gold.sum()) + float(predicted.sum())) if tp else 0.0


def best_threshold(gold: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 over the grid; 0.5 when validation has no positive."""
    if not gold.any():
        return 0.5, 0.0
    scored = [(f1(gold, probs >= t), -t) for t in THRESHOLDS]
    best, neg = max(scored)  # ties go to the higher threshold: fewer flags at equal F1
    return -neg, best


def max_flags(texts: Sequence[ClauseText], types: Sequence[str]) -> list[int]:
    """Per type, the 90th percentile of its clauses per contract, among contracts with one:
    how many flags of a type a reviewer should see at most (Audit Rights 6, Governing Law 1)."""
    out = []
    for name in types:
        counts = Counter(c.contract for c in texts if name in c.types)
        out.append(max(1, math.ceil(np.percentile(list(counts.values()), 90))) if counts else 1)
    return out


def _heads(x, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """(coef (types, features), intercept (types,)): one balanced logistic head per column."""
    from sklearn.linear_model import LogisticRegression

    coef, intercept = [], []
    for column in y.T:
        # balanced: a type is 1-10% of the texts; unweighted heads would rarely say yes.
        head = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, column)
        coef.append(head.coef_[0])
        intercept.append(head.intercept_[0])
    return np.asarray(coef, dtype=np.float32), np.asarray(intercept, dtype=np.float32)


def train_clause_model(
    train: Sequence[ClauseText],
    validation: Sequence[ClauseText],
    types: Sequence[str],
    embedder: Embedder,
    progress: bool = True,
    vectors: tuple[np.ndarray, np.ndarray] | None = None,
) -> ClauseModel:
    """Fit the heads on ``train``; choose the regularisation and each type's threshold on
    ``validation``; then refit on both (the choices stay): validation contracts are data too.
    ``vectors``: the texts' embeddings (train, validation) when the caller has them already.

    Example: ``train_clause_model(fit, held, ["Governing Law"], embedder).types``
    """
    y = targets(train, types)
    empty = [t for t, column in zip(types, y.T, strict=True) if not column.any()]
    if empty:
        raise ValueError(f"clause types with no training clause: {empty}")
    started = time.perf_counter()
    texts, held = [c.text for c in train], [c.text for c in validation]
    if vectors is None:
        vectors = (embedder.embed(texts, progress), embedder.embed(held, progress))
    vectors, held_vectors = vectors
    vectorizers = {kind: vectorizer(kind).fit(texts) for kind in ANALYSERS}
    x = features(vectorizers, texts, vectors)
    model = ClauseModel(
        types=list(types),
        thresholds=np.full(len(types), 0.5, dtype=np.float32),
        max_flags=max_flags([*train, *validation], types),
        coef=np.zeros(0),
        intercept=np.zeros(0),
        vectorizers=vectorizers,
        embedder=embedder.name,
        trained={},
    )
    chosen, tried = STRENGTHS[1], {}
    if validation:
        gold = targets(validation, types)
        best: tuple[float, list] = (-1.0, [])
        for c in STRENGTHS:
            model.coef, model.intercept = _heads(x, y, c)
            probs = model.probabilities(held, held_vectors)
            picked = [best_threshold(gold[:, j], probs[:, j]) for j in range(len(types))]
            tried[c] = round(float(np.mean([f for _, f in picked])), 4)
            if tried[c] > best[0]:
                chosen, best = c, (tried[c], picked)
        model.thresholds = np.array([t for t, _ in best[1]], dtype=np.float32)
        validation_f1 = {name: f for name, (_, f) in zip(types, best[1], strict=True)}
        texts, vectors = texts + held, np.vstack([vectors, held_vectors])
        model.vectorizers = {kind: vectorizer(kind).fit(texts) for kind in ANALYSERS}
        x, y = features(model.vectorizers, texts, vectors), targets([*train, *validation], types)
    else:
        validation_f1 = {}
    model.coef, model.intercept = _heads(x, y, chosen)
    model.trained = {
        "train_texts": len(train) + len(validation),
        "train_contracts": len({c.contract for c in [*train, *validation]}),
        "validation_texts": len(validation),
        "validation_f1": {k: round(v, 4) for k, v in validation_f1.items()},
        "C": chosen,
        "validation_macro_f1_by_C": {str(k): v for k, v in tried.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    return model
