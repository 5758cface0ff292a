"""`hybrid clauses` flags a contract's risky clauses; `hybrid eval clauses` trains and measures
the clause model."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from hybrid.cli.common import app, eval_app, out


@app.command("clauses")
def clauses_of(
    ctx: typer.Context,
    contract: Path = typer.Argument(..., help="A contract: PDF, text, Markdown or HTML."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Flag the contract's clauses of the recipe's types (its clauses: section)."""
    from hybrid.knowledge.loaders import load_bytes, read_file
    from hybrid.models.promotions import promotions_for
    from hybrid.serve.app import served_flagger

    config = ctx.obj.config()
    doc = load_bytes(read_file(contract, config.ingest), contract.name, config.ingest)
    if config.clauses is None:
        raise ValueError("the recipe turns clause flags off (clauses: null)")
    # The model a server of this recipe serves (the promoted one, where promotion rules).
    report = served_flagger(config, promotions_for(config)).get().flag(doc)
    if as_json:
        out.print_json(json.dumps(asdict(report)))
        return
    table = Table("type", "risk", "page", "confidence", "quote")
    for f in report.flags:
        quote = " ".join(f.quote.split())
        table.add_row(f.type, f.risk, str(f.page or "-"), f"{f.confidence:.2f}", quote[:140])
    out.print(table)
    missing = [t for t in report.types if not report.found(t)]
    out.print(f"{report.passages} sentences on {report.pages or 1} page(s); none found: {missing}")


@eval_app.command("clauses")
def eval_clauses(
    ctx: typer.Context,
    data: Path = typer.Option(
        ..., help="CUAD master clauses CSV: ../shared/data/contracts/cuad_master_clauses.csv"
    ),
    pdfs: Path = typer.Option(..., help="Folder of CUAD contract PDFs, scored page by page."),
    model: Path = typer.Option(Path("adapters/clauses"), help="Where the clause model goes."),
    held_out: float = typer.Option(0.2, help="Share of contracts held out of training."),
    validation: float = typer.Option(0.15, help="Share of training contracts for thresholds."),
    seed: int = typer.Option(0),
    output: Path = typer.Option(Path("evals/results/clauses.json")),
) -> None:
    """Train the clause model on CUAD by contract, then score (a) held-out contracts' clause
    texts and (b) the PDFs' pages (their contracts are in neither); JSON, table and PNG."""
    import numpy as np

    from hybrid.answer.clauses import ClauseFlagger
    from hybrid.behaviour.clauses import train_clause_model
    from hybrid.cli.knowledge import embedder_for
    from hybrid.config import ClausesConfig
    from hybrid.datasets import cuad
    from hybrid.evals import clauses as evaluation
    from hybrid.evals import results
    from hybrid.models.cards import AdapterCard, DataFile, HeldOut, file_sha256, write_card

    for name, share in (("--held-out", held_out), ("--validation", validation)):
        if not 0 < share < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {share}")
    if not pdfs.is_dir():
        raise FileNotFoundError(f"--pdfs: {pdfs} is not a folder")
    config = ctx.obj.config()
    clauses_config = config.clauses or ClausesConfig()
    types = list(clauses_config.types)
    rows = cuad.read_rows(data)
    files = cuad.pdf_files(pdfs)
    texts = cuad.clause_texts(rows)
    train, test = cuad.split_contracts(texts, held_out, seed, {cuad.stem(p.name) for p in files})
    fit, thresholds = cuad.split_contracts(train, validation, seed + 1, set())
    embedder = embedder_for(config)
    # Each text embedded once: training, its validation, the held-out eval and the baseline.
    fit_v, thresholds_v, test_v = (embedder.embed([c.text for c in part], progress=True)
                                   for part in (fit, thresholds, test))  # fmt: skip
    found = train_clause_model(fit, thresholds, types, embedder, vectors=(fit_v, thresholds_v))
    found.save(model)
    card = AdapterCard(
        name="clauses",
        base_model=embedder.name,
        data=[
            DataFile(
                path=str(data), sha256=file_sha256(data), examples=found.trained["train_texts"]
            )
        ],
        hyperparameters={"C": found.trained["C"], "features": "tfidf(1-2) + embedding"},
        held_out_split=HeldOut(share=held_out, seed=seed),
        metrics={f"validation_f1/{k}": v for k, v in found.trained["validation_f1"].items()},
    )
    write_card(model, card)
    out.print(f"wrote {model} ({found.trained['seconds']} s)")
    scores = evaluation.classify(found, test, test_v)
    plain = evaluation.baseline(
        found.types, [*fit, *thresholds], np.vstack([fit_v, thresholds_v]), test, test_v
    )
    for name, value in plain.items():
        scores[name]["baseline_f1"] = value
    flagger = ClauseFlagger(clauses_config.model_copy(update={"model": model}), found, embedder)
    per_pdf, totals = evaluation.on_pdfs(flagger, rows, files)
    result = evaluation.result(data, found, test, seed, scores, per_pdf, totals)
    out.print(f"wrote {results.write(result, output)}")
    _report(result)
    out.print(f"wrote {evaluation.chart(result, output.with_suffix('.png'))}")


def _report(result) -> None:
    table = Table("type", "n", "P", "R", "F1", "embedding F1", "PDF found", "false pages/contract")
    for t in result.types:
        table.add_row(
            t.type, str(t.support), f"{t.precision:.2f}", f"{t.recall:.2f}", f"{t.f1:.3f}",
            f"{t.baseline_f1:.3f}", f"{t.pdf_found}/{t.pdf_clauses}",
            f"{t.false_pages_per_contract:.2f}",
        )  # fmt: skip
    out.print(table)
    out.print(
        f"macro-F1 {result.macro_f1:.3f} (embedding only {result.baseline_macro_f1:.3f}); "
        f"PDF clauses on their page {result.pdf_found_share:.0%}, false pages per contract and "
        f"type {result.false_pages_per_contract_type:.2f}; quoted {result.flags_quoted_share:.0%}; "
        f"{result.seconds_per_page * 1000:.0f} ms per page"
    )
