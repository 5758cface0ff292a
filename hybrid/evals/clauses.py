"""`hybrid eval clauses`: the clause model (a) on held-out contracts' labelled clause texts and
(b) on real contract PDFs, page by page.

(a) Every labelled text of a held-out contract is classified; a text of an unsupported type is
a passage of no type (a negative for every head). Per type: precision, recall, F1, and the F1
of an embedding-only head on the same split (the baseline the word features must beat).
(b) For each PDF whose contract CUAD labels: each labelled clause of a supported type is looked
up in the PDF's text (whitespace folded, its first 50 characters) to find its page; it is found
when a flag of its type points at that page. Pages flagged for a type that hold none of its
clauses are false pages.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hybrid.answer.clauses import ClauseFlagger
from hybrid.behaviour.clauses import f1, targets
from hybrid.config import CLAUSE_METRICS, ClausesConfig, ClausesGate, IngestConfig
from hybrid.datasets import cuad
from hybrid.datasets.cuad import ClauseText, listed, stem
from hybrid.evals.results import ClausesResult, ClauseTypeScores
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.loaders import load_bytes, read_file
from hybrid.models.clauses import ClauseModel


def classify(
    model: ClauseModel, test: Sequence[ClauseText], test_vectors: np.ndarray
) -> dict[str, dict[str, float]]:
    """(a): per type {support, precision, recall, f1} of the model's flags on ``test``."""
    predicted = model.probabilities([c.text for c in test], test_vectors) >= model.thresholds
    gold = targets(test, model.types)
    scores = {}
    for j, name in enumerate(model.types):
        tp = float(np.sum(gold[:, j] & predicted[:, j]))
        scores[name] = {
            "support": int(gold[:, j].sum()),
            "precision": tp / max(1, int(predicted[:, j].sum())),
            "recall": tp / max(1, int(gold[:, j].sum())),
            "f1": f1(gold[:, j], predicted[:, j]),
        }
    return scores


def baseline(
    types: Sequence[str],
    train: Sequence[ClauseText],
    train_vectors: np.ndarray,
    test: Sequence[ClauseText],
    test_vectors: np.ndarray,
) -> dict[str, float]:
    """F1 per type of an embedding-only head that learns from the same training texts
    (``train``: every text the model was fitted on): what the word features must beat."""
    from sklearn.linear_model import LogisticRegression

    gold, train_gold = targets(test, types), targets(train, types)
    out = {}
    for j, name in enumerate(types):
        head = LogisticRegression(C=16.0, max_iter=3000, class_weight="balanced")
        predicted = head.fit(train_vectors, train_gold[:, j]).predict(test_vectors).astype(bool)
        out[name] = f1(gold[:, j], predicted)
    return out


def on_pdfs(
    flagger: ClauseFlagger, rows: Sequence[dict[str, str]], pdfs: Sequence[Path]
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """(b): per type {clauses, found, false_pages}, and totals (contracts, pages, seconds,
    flags, quoted)."""
    by_stem = {stem(r["Filename"]): r for r in rows}
    types = list(flagger.config.types)
    per = {t: {"clauses": 0, "found": 0, "false_pages": 0} for t in types}
    totals = {"contracts": 0, "pages": 0, "seconds": 0.0, "flags": 0, "quoted": 0}
    ingest = IngestConfig()
    for pdf in pdfs:
        row = by_stem.get(stem(pdf.name))
        if row is None:
            continue  # not a CUAD contract (the ICJ statute): nothing to score against
        doc = load_bytes(read_file(pdf, ingest), pdf.name, ingest)
        started = time.perf_counter()
        report = flagger.flag(doc)
        totals["seconds"] += time.perf_counter() - started
        totals["contracts"] += 1
        totals["pages"] += doc.n_pages or 1
        totals["flags"] += len(report.flags)
        totals["quoted"] += sum(f.label == "quoted" for f in report.flags)
        pages = cuad.page_texts(doc)
        for name in types:
            flagged = {f.page for f in report.found(name)}
            located = [cuad.clause_page(pages, c) for c in listed(row[name])]
            gold = [p for p in located if p is not None]
            per[name]["clauses"] += len(gold)
            per[name]["found"] += sum(p in flagged for p in gold)
            per[name]["false_pages"] += len(flagged - set(gold))
    return per, totals


def result(
    dataset: Path,
    model: ClauseModel,
    held_out: Sequence[ClauseText],
    seed: int,
    scores: dict[str, dict[str, float]],
    per_pdf: dict[str, dict[str, float]],
    totals: dict[str, float],
) -> ClausesResult:
    contracts = max(1, int(totals["contracts"]))
    types = []
    for j, name in enumerate(model.types):
        a, b = scores[name], per_pdf.get(name, {"clauses": 0, "found": 0, "false_pages": 0})
        base = a.get("baseline_f1")
        types.append(
            ClauseTypeScores(
                type=name,
                support=a["support"],
                precision=round(a["precision"], 4),
                recall=round(a["recall"], 4),
                f1=round(a["f1"], 4),
                baseline_f1=None if base is None else round(base, 4),
                threshold=round(float(model.thresholds[j]), 4),
                pdf_clauses=int(b["clauses"]),
                pdf_found=int(b["found"]),
                false_pages_per_contract=round(b["false_pages"] / contracts, 3),
            )
        )
    clauses = sum(t.pdf_clauses for t in types)
    return ClausesResult(
        dataset=str(dataset),
        train_texts=model.trained.get("train_texts", 0),
        train_contracts=model.trained.get("train_contracts", 0),
        validation_texts=model.trained.get("validation_texts", 0),
        held_out_texts=len(held_out),
        held_out_contracts=len({c.contract for c in held_out}),
        pdfs=int(totals["contracts"]),
        seed=seed,
        macro_f1=round(float(np.mean([t.f1 for t in types])), 4),
        baseline_macro_f1=None
        if any(t.baseline_f1 is None for t in types)
        else round(float(np.mean([t.baseline_f1 for t in types])), 4),
        pdf_found_share=round(sum(t.pdf_found for t in types) / max(1, clauses), 4),
        false_pages_per_contract_type=round(
            float(np.mean([t.false_pages_per_contract for t in types])), 3
        ),
        flags_quoted_share=round(totals["quoted"] / max(1, totals["flags"]), 4),
        seconds_per_page=round(totals["seconds"] / max(1, totals["pages"]), 4),
        types=types,
    )


def chart(found: ClausesResult, path: Path) -> Path:
    """Per type: held-out F1 beside the embedding-only F1, and the PDFs' page recall."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [t.type for t in found.types]
    y = np.arange(len(names))
    recall = [t.pdf_found / t.pdf_clauses if t.pdf_clauses else 0.0 for t in found.types]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.6))
    ax.barh(y - 0.27, [t.f1 for t in found.types], 0.27, label="F1, held-out contracts")
    ax.barh(y, [t.baseline_f1 or 0.0 for t in found.types], 0.27, label="F1, embedding-only head")
    ax.barh(y + 0.27, recall, 0.27, label="PDF clauses flagged on their page")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.axvline(0.8, color="grey", lw=0.8, ls="--")
    ax.set_title(
        f"clause flags: macro-F1 {found.macro_f1:.3f} "
        f"(embedding only {found.baseline_macro_f1:.3f}); PDF pages {found.pdf_found_share:.0%}",
        fontsize=10,
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def gate_figures(
    config: ClausesConfig, embedder: Embedder, folder: Path, gate: ClausesGate
) -> dict[str, float | None]:
    """The promotion gate's eval of the clause model in ``folder``: (a) on the gate's held-out
    contracts and, with ``gate.pdfs``, (b) on those PDFs, through the server's flagger."""
    model = ClauseModel.load(folder)
    rows = cuad.read_rows(gate.data)
    files = [] if gate.pdfs is None else cuad.pdf_files(gate.pdfs)
    texts = cuad.clause_texts(rows)
    _, test = cuad.split_contracts(texts, gate.held_out, gate.seed, {stem(p.name) for p in files})
    scores = classify(model, test, embedder.embed([c.text for c in test], progress=True))
    flagger = ClauseFlagger(config.model_copy(update={"model": folder}), model, embedder)
    per_pdf, totals = on_pdfs(flagger, rows, files)
    found = result(gate.data, model, test, gate.seed, scores, per_pdf, totals)
    figures: dict[str, float | None] = {name: getattr(found, name) for name in CLAUSE_METRICS}
    if not found.pdfs:  # nothing measured page by page: no figure, rather than a zero
        figures |= {name: None for name in CLAUSE_METRICS if name != "macro_f1"}
    return figures | {"n": float(len(test)), "pdfs": float(found.pdfs)}
