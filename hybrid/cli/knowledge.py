"""CLI commands of the knowledge layer: index, search, eval retrieval, demo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer
from rich.table import Table

from hybrid.cli.common import app, eval_app, index_app, out
from hybrid.config import HybridConfig

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "acme"  # shipped with the package


def embedder_for(config: HybridConfig):
    from hybrid.knowledge.embedder import Embedder

    return Embedder(config.embedder)


@index_app.command("sync")
def index_sync(
    ctx: typer.Context,
    collection: str = typer.Argument(..., help="Collection name."),
    folder: Path = typer.Argument(..., help="Folder of PDF / Markdown / text / HTML files."),
    prune: bool = typer.Option(
        False, "--prune", help="Also remove documents that did not come from FOLDER (uploads)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would change; write nothing."),
) -> None:
    """Index new and changed documents of FOLDER, remove the ones it no longer holds (atomic).
    Documents uploaded through the API or synced from another folder stay unless --prune."""
    from hybrid.knowledge.sync import sync_folder

    config = ctx.obj.config()
    report = sync_folder(
        collection,
        folder,
        config.knowledge,
        embedder_for(config),
        True,
        prune=prune,
        dry_run=dry_run,
    )
    if dry_run:
        out.print("[bold]dry run: nothing was written[/bold]")
        for label, ids in (
            ("add", report.added),
            ("update", report.updated),
            ("remove", report.removed),
        ):
            for doc_id in ids:
                out.print(f"  would {label} {doc_id}")
    out.print(
        f"{collection}: added {len(report.added)}, updated {len(report.updated)}, removed "
        f"{len(report.removed)}, unchanged {len(report.unchanged)}, failed {len(report.failed)} "
        f"(chunks embedded {report.chunks_embedded}, reused {report.chunks_reused}; "
        f"version {report.version}; {report.seconds:.1f} s)"
    )
    for doc_id, reason in report.failed.items():
        out.print(f"  [red]failed[/red] {doc_id}: {reason}")
    if report.kept:
        out.print(f"  kept {len(report.kept)} not from this folder (--prune removes them):")
        for doc_id, origin in report.kept.items():
            out.print(f"    {doc_id} ({origin})")


@index_app.command("list")
def index_list(ctx: typer.Context) -> None:
    """List collections with their document and chunk counts."""
    from hybrid.knowledge import store
    from hybrid.knowledge.sync import clean_stale, collection_info

    config = ctx.obj.config()
    for name in clean_stale(config.index_dir):
        out.print(f"[dim]{name}: removed a killed sync's leftovers[/dim]")
    table = Table("collection", "documents", "chunks", "embedder", "version")
    for name in store.list_collections(config.index_dir):
        info = collection_info(store.collection_dir(config.index_dir, name))
        table.add_row(
            name,
            str(len(info.documents)),
            str(info.chunks),
            info.meta.embedder,
            info.version,
        )
    out.print(table)


@index_app.command("show")
def index_show(
    ctx: typer.Context,
    collection: str,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a collection's documents, chunk counts and build settings."""
    from hybrid.knowledge import store
    from hybrid.knowledge.sync import collection_info

    info = collection_info(store.collection_dir(ctx.obj.config().index_dir, collection))
    if as_json:
        out.print_json(info.model_dump_json())
        return
    meta = info.meta
    out.print(
        f"{collection}: version {info.version}, {info.chunks} chunks, embedder "
        f"{meta.embedder} ({meta.dimension}d), index {meta.index.get('kind', '?')}"
    )
    table = Table("document", "kind", "pages", "chunks", "bytes")
    for doc in info.documents:
        table.add_row(
            doc.doc_id, doc.kind, str(doc.n_pages or ""), str(doc.n_chunks), str(doc.size_bytes)
        )
    out.print(table)


@index_app.command("remove")
def index_remove(
    ctx: typer.Context,
    collection: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
) -> None:
    """Delete a collection and everything in it."""
    from hybrid.knowledge import store

    coll = store.collection_dir(ctx.obj.config().index_dir, collection)
    if not (coll / store.CURRENT).exists():
        raise FileNotFoundError(f"no collection {collection!r} under {coll.parent}")
    if not yes and not typer.confirm(f"Delete collection {collection!r}?"):
        raise typer.Exit(1)
    shutil.rmtree(coll)
    out.print(f"removed {collection}")


def _print_results(results: list, title: str) -> None:
    table = Table("#", "score", "document", "page", "section", "text", title=title)
    for r in results:
        snippet = " ".join(r.text.split())
        table.add_row(
            str(r.rank),
            f"{r.score:.3f}",
            r.doc_id,
            r.pages,
            r.heading,
            snippet[:160] + ("…" if len(snippet) > 160 else ""),
        )
    out.print(table)


@app.command()
def search(
    ctx: typer.Context,
    collection: str = typer.Argument(..., help="Collection name."),
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(None, "-k", help="Results (default: the recipe's search.top_k)."),
    mode: str = typer.Option(None, "--mode", help="dense | bm25 | hybrid."),
    source: list[str] = typer.Option([], "--source", help="Document id or glob; repeatable."),
    pages: str = typer.Option(None, "--pages", help="Page range, e.g. 3-5 or 7."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search a collection; prints ranked chunks with source, page and score."""
    from dataclasses import asdict

    from hybrid.knowledge import store
    from hybrid.knowledge.search import Filters, Retriever

    page_range = None
    if pages:
        first, _, last = pages.partition("-")
        try:
            page_range = (int(first), int(last or first))
        except ValueError:
            raise ValueError(f"--pages must look like 3-5 or 7, got {pages!r}") from None
    config = ctx.obj.config()
    retriever = Retriever(
        store.collection_dir(config.index_dir, collection), embedder_for(config), config.search
    )
    results = retriever.search(query, k=k, mode=mode, filters=Filters(tuple(source), page_range))
    if as_json:
        out.print_json(json.dumps([asdict(r) for r in results]))
    else:
        _print_results(results, f"{collection}: {query}")


@eval_app.command("retrieval")
def eval_retrieval(
    ctx: typer.Context,
    data: Path = typer.Option(
        ..., help="PolicyQA (SQuAD) JSON, e.g. ../shared/data/policyqa/dev.json."
    ),
    dtype: str = typer.Option(None, help="Embedder dtype override: auto | bf16 | fp32."),
    limit: int = typer.Option(None, help="Score only this many questions (spread evenly)."),
    granularity: str = typer.Option(
        "document",
        help="document: one per policy, chunked by the recipe; paragraph: one per "
        "paragraph (the published paragraphs-as-chunks setting).",
    ),
    output: Path = typer.Option(None, help="JSON out (default evals/results/...)."),
) -> None:
    """Recall@1/5/10, MRR@10, nDCG@10 on PolicyQA for dense, BM25 and hybrid search."""
    from hybrid.evals import results
    from hybrid.evals.retrieval import evaluate

    if granularity not in ("document", "paragraph"):
        raise ValueError(f"--granularity must be document or paragraph, got {granularity!r}")
    config = ctx.obj.config(embedder_dtype=dtype)
    embedder = embedder_for(config)
    dtype_name = str(embedder.dtype).removeprefix("torch.")
    name = f"eval-policyqa-{granularity}-{dtype_name}"
    output = output or Path(f"evals/results/retrieval-policyqa-{granularity}-{dtype_name}.json")
    result = evaluate(data, config, embedder, name, limit=limit, granularity=granularity)
    table = Table(
        "scope/mode",
        "R@1",
        "R@5",
        "R@10",
        "MRR@10",
        "nDCG@10",
        title=f"PolicyQA retrieval ({granularity}s), {result.questions} questions, "
        f"{result.chunks} chunks, {result.embedder_dtype}",
    )
    for key, m in result.metrics.items():
        table.add_row(
            key + (" (default)" if key.endswith(config.search.mode) else ""),
            *(f"{m[n]:.1f}" for n in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")),
        )
    out.print(table)
    out.print(f"wrote {results.write(result, output)}")


@app.command()
def demo(
    ctx: typer.Context,
    contracts: Path = typer.Option(
        None, help="Contract PDFs to index too, e.g. ../shared/data/contracts/pdfs (make demo)."
    ),
    serve: bool = typer.Option(True, help="Start the server afterwards (page at /)."),
    port: int | None = typer.Option(None, help="Port (default: serve.port)."),
) -> None:
    """Index the sample policies and the contract PDFs, run sample searches, then serve."""
    from hybrid.knowledge import store
    from hybrid.knowledge.search import Retriever
    from hybrid.knowledge.sync import sync_folder

    config = ctx.obj.config()
    embedder = embedder_for(config)
    jobs = [("acme-policies", SAMPLES, "How long do I have to return a sale item?")]
    if contracts is not None and contracts.is_dir():
        jobs.append(("contracts", contracts, "Which law governs the agreement?"))
    elif contracts is not None:
        out.print(f"[yellow]{contracts} not found: indexing the sample policies only[/yellow]")
    for name, folder, question in jobs:
        report = sync_folder(name, folder, config.knowledge, embedder, progress=True)
        out.print(
            f"{name}: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.failed)} failed"
        )
        retriever = Retriever(store.collection_dir(config.index_dir, name), embedder, config.search)
        _print_results(retriever.search(question, k=3), f"{name}: {question}")
    if serve:
        from hybrid.cli.serve import run_server

        run_server(config, port=port)
