"""`hybrid verify COLLECTION FILE`: check a text sentence by sentence against a collection."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from hybrid.cli.common import app, out

STYLE = {
    "quoted": "green",
    "supported": "green",
    "contradicted": "bold red",
    "unsupported": "yellow",
}


@app.command()
def verify(
    ctx: typer.Context,
    collection: list[str] = typer.Argument(..., help="Collection(s) to check against, then FILE."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON POST /v1/verify returns."),
    route: str = typer.Option("legal", help="Route whose verification settings and top_k apply."),
) -> None:
    """Label each sentence of FILE quoted / supported / contradicted / unsupported, with the
    source sentence it aligned to. The last argument is the file (- for stdin)."""
    import sys

    from hybrid.answer import claims
    from hybrid.answer.router import Router
    from hybrid.cli.knowledge import embedder_for
    from hybrid.knowledge import store

    if len(collection) < 2:
        raise ValueError("give at least one collection and then the file: COLLECTION... FILE")
    *names, file = collection
    text = sys.stdin.read() if file == "-" else _read(Path(file))
    config = ctx.obj.config()
    for name in names:
        if store.current_version(store.collection_dir(config.index_dir, name)) is None:
            raise ValueError(f"collection {name!r} does not exist in {config.index_dir}")
    router = Router(config, None, embedder_for(config))
    report = claims.report(router.check_text(route, text, names))
    if as_json:
        out.print_json(json.dumps({"route": route, "collections": names, **report}))
        return
    table = Table(title=f"{file} against {', '.join(names)}")
    for column in ("label", "sentence", "evidence"):
        table.add_column(column)
    for row in report["sentences"]:
        e = row["evidence"]
        where = f"{e['document']}" + (f", page {e['page']}" if e and e["page"] else "") if e else ""
        label = f"[{STYLE[row['label']]}]{row['label']}[/]"
        table.add_row(label, row["sentence"], f"{where}: {e['snippet']}" if e else "")
    out.print(table)
    out.print(" ".join(f"{k}: {v}" for k, v in report["summary"].items()))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read: {error}") from None
