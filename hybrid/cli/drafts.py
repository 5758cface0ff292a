"""CLI command of the drafts eval: `hybrid eval drafts` (governing law, asked by parties)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hybrid.cli.common import eval_app, out


@eval_app.command("drafts")
def eval_drafts(
    ctx: typer.Context,
    labels: Path = typer.Option(..., help="CUAD master clauses CSV (Parties, Governing Law)."),
    pdfs: Path = typer.Option(..., help="Folder of the contract PDFs the collection indexed."),
    collection: str = typer.Option("contracts", help="The collection holding those contracts."),
    route: str = typer.Option("legal", help="The route whose drafts are scored."),
    output: Path = typer.Option(Path("evals/results/drafts-governing-law.json")),
) -> None:
    """Governing-law drafts asked by the parties' names: the right law with a verified footnote
    on the clause's page, and no wrong law."""
    from hybrid.answer.router import Router
    from hybrid.cli.knowledge import embedder_for
    from hybrid.evals import results
    from hybrid.evals.drafts import cases, evaluate
    from hybrid.runtime import create_engine

    for option, path in (("--labels", labels), ("--pdfs", pdfs)):
        if not path.exists():
            raise ValueError(f"{option}: {path} does not exist")
    config = ctx.obj.config()
    router = Router(config, None, embedder_for(config))
    retriever = router.retriever(collection)
    if retriever is None:
        raise ValueError(f"--collection: {collection!r} is not built (hybrid index sync)")
    found, laws = cases(labels, retriever.documents())
    if not found:
        raise ValueError(f"--labels: no document of {collection!r} is labelled in {labels}")
    engine = create_engine(config.runtime)
    try:
        router.engine = engine
        result = evaluate(router, engine, route, collection, found, laws, pdfs)
    finally:
        engine.close()
    table = Table("document", "law", "page", "named", "footnote", "wrong", title="drafts")
    for row in result.cases:
        table.add_row(
            row.document[:40],
            row.law or "-",
            str(row.clause_page or "-"),
            "yes" if row.named else ("refused" if row.refused else "no"),
            "yes" if row.footnote_on_page else "no",
            ", ".join(row.wrong_laws) or "-",
        )
    out.print(table)
    out.print(
        f"named with a verified footnote on the clause's page: {result.named_with_footnote}"
        f"/{result.with_law}; drafts naming a wrong law: {result.wrong_law}/{result.n}"
    )
    out.print(f"wrote {results.write(result, output)}")
