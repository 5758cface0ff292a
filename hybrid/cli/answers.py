"""CLI command of the answers grid: `hybrid eval answers`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table

from hybrid.cli.common import eval_app, out
from hybrid.config import HybridConfig

SHOWN = (
    "token_f1",
    "answer_recall",
    "fact_match",
    "fact_match_verified",
    "citation_precision",
    "citation_recall",
    "verified_rate",
    "refusal_recall",
    "false_refusal",
    "echo_rate",
    "loop_rate",
    "latency_p50_s",
    "latency_p95_s",
    "answer_tokens_mean",
    "prompt_tokens_mean",
)


def resolve_adapter(config: HybridConfig, adapter: str | None) -> Path | None:
    """``--adapter``: a name from ``runtime.adapters`` or a folder; default: the shipped one."""
    if adapter is None:
        named = config.runtime.adapters.get("answerer")
        return Path(named) if named is not None else None
    if adapter in config.runtime.adapters:
        return Path(config.runtime.adapters[adapter])
    path = Path(adapter)
    if not (path / "adapter_config.json").is_file():
        known = sorted(config.runtime.adapters) or "none"
        raise ValueError(
            f"--adapter {adapter!r}: neither a name in runtime.adapters (known: {known}) nor a "
            "folder holding adapter_config.json"
        )
    return path


def held_out_only(qa_set, data: Path, adapter: Path | None):
    """Keep the questions whose documents the adapter's RAFT run held out of training."""
    from hybrid.models.cards import read_card

    if adapter is None:
        return qa_set, None
    try:
        held = read_card(adapter).held_out(data)
    except FileNotFoundError:
        return qa_set, None
    if held is None:
        return qa_set, None  # the adapter was not trained on this data
    kept = set(held)
    questions = [q for q in qa_set.questions if q.scope and q.scope[0] in kept]
    docs = {d: t for d, t in (qa_set.documents or {}).items() if d in kept}
    renamed = replace(qa_set, name=qa_set.name + "-heldout", documents=docs, questions=questions)
    return renamed, sorted(kept)


# The question set's options, one declaration for `eval answers` and `eval evidence`.
_DATA = typer.Option(None, help="SQuAD-format JSON (e.g. PolicyQA dev).")
_DOCS = typer.Option(None, help="Folder of documents (with --questions).")
_QUESTIONS = typer.Option(None, help="JSONL: question, answers, documents.")
_SEED = typer.Option(0, help="Seed of the sample.")


def question_set(
    data: Path | None,
    docs: Path | None,
    questions: Path | None,
    limit: int | None,
    seed: int,
    adapter: Path | None,
    all_documents: bool,
):
    """The questions an eval asks: a SQuAD file (only the policies ``adapter`` was not trained
    on, unless ``all_documents``) or a KB folder + JSONL, sampled; (set, held-out policies)."""
    from hybrid.datasets.qa_sets import read_kb, read_squad
    from hybrid.evals.answers import sample

    if (data is None) == (docs is None and questions is None):
        raise ValueError("give --data FILE.json, or --docs DIR with --questions FILE.jsonl")
    if data is None and (docs is None or questions is None):
        raise ValueError("--docs and --questions go together")
    held = None
    if data is not None:
        qa_set = read_squad(data)
        if not all_documents:
            qa_set, held = held_out_only(qa_set, data, adapter)
    else:
        qa_set = read_kb(docs, questions)
    qa_set = replace(qa_set, questions=sample(qa_set.questions, limit, seed))
    if held is not None:
        out.print(f"held-out documents of the adapter's training run: {', '.join(held)}")
    return qa_set, held


@eval_app.command("answers")
def eval_answers(
    ctx: typer.Context,
    data: Path = _DATA,
    docs: Path = _DOCS,
    questions: Path = _QUESTIONS,
    arms: str = typer.Option(",".join(("base", "base+rag", "tuned", "tuned+rag"))),
    adapter: str = typer.Option(None, help="Tuned arms' adapter: NAME or PATH (default: shipped)."),
    route: str = typer.Option("support", help="The serving route every arm copies."),
    limit: int = typer.Option(None, help="Ask a deterministic sample of N questions."),
    seed: int = _SEED,
    concurrency: int = typer.Option(
        1, help="Questions in flight at once (latencies are then under load)."
    ),
    all_documents: bool = typer.Option(
        False, help="SQuAD: also ask about documents the adapter was trained on."
    ),
    output: Path = typer.Option(None, help="JSON out (default evals/results/answers-<set>.json)."),
) -> None:
    """The answers grid: base vs base+RAG vs tuned vs tuned+RAG through the serving route."""
    from hybrid.cli.knowledge import embedder_for
    from hybrid.evals.answers import parse_arms, run_grid, write_outputs

    chosen = parse_arms(arms)
    config = ctx.obj.config()
    tuned = resolve_adapter(config, adapter) if any("tuned" in a for a in chosen) else None
    qa_set, held = question_set(data, docs, questions, limit, seed, tuned, all_documents)
    result, outcomes = run_grid(
        qa_set, config, embedder_for(config), route, chosen, tuned, concurrency=concurrency
    )
    result.config = result.config.model_copy(
        update={"limit": limit, "seed": seed, "held_out_documents": held}
    )
    output = output or Path(f"evals/results/answers-{qa_set.name}.json")
    table = Table("metric", *chosen, title=f"answers grid: {qa_set.name}, n={result.n}")
    for name in SHOWN:
        cells = [getattr(result.arms[a], name) for a in chosen]
        table.add_row(name, *("-" if v is None else f"{v:.3f}" for v in cells))
    out.print(table)
    for path in write_outputs(result, outcomes, output):
        out.print(f"wrote {path}")


@eval_app.command("evidence")
def eval_evidence(
    ctx: typer.Context,
    data: Path = _DATA,
    docs: Path = _DOCS,
    questions: Path = _QUESTIONS,
    route: str = typer.Option("support", help="The serving route whose evidence is ranked."),
    limit: int = typer.Option(None, help="Rank a deterministic sample of N questions."),
    seed: int = _SEED,
    all_documents: bool = typer.Option(
        False, help="SQuAD: also rank documents the shipped adapter was trained on."
    ),
    against: Path = typer.Option(None, help="An earlier run's .rows.jsonl: list what moved."),
    output: Path = typer.Option(None, help="JSON out (default evals/results/evidence-<set>.json)."),
) -> None:
    """Where the route ranks the sentence holding the answer, without generating: [1] holds
    it, one of the numbered sentences does, refused before generating."""
    from hybrid.cli.knowledge import embedder_for
    from hybrid.evals import results
    from hybrid.evals.evidence import changes, rank_all, score, write_rows

    if against is not None and not against.is_file():
        raise ValueError(f"--against {against}: no such file (an earlier run's .rows.jsonl)")
    config = ctx.obj.config()
    shipped = resolve_adapter(config, None)
    qa_set, held = question_set(data, docs, questions, limit, seed, shipped, all_documents)
    embedder = embedder_for(config)
    ranked = rank_all(qa_set, config, embedder, route, progress=True)
    settings = {
        "set": qa_set.name,
        "route": route,
        "evidence": config.routes[route].evidence.model_dump(mode="json"),
        "embedder": embedder.name,
        "search": config.search.model_dump(mode="json"),
        "limit": limit,
        "seed": seed,
        "held_out_documents": held,
    }
    result = score(ranked, settings)
    output = output or Path(f"evals/results/evidence-{qa_set.name}.json")
    table = Table("metric", "value", title=f"evidence: {qa_set.name}, n={result.n}")
    for name in ("first", "shown", "mrr", "refused_answerable", "refused_unanswerable"):
        value = getattr(result, name)
        table.add_row(name, "-" if value is None else f"{value:.3f}")
    out.print(table)
    if against is not None:
        gained, lost = changes(ranked, against)
        out.print(f"[1] holds the answer against {against}: {len(gained)} gained, {len(lost)} lost")
        for question in gained:
            out.print(f"  + {question}")
        for question in lost:
            out.print(f"  - {question}")
    rows = write_rows(ranked, output.with_suffix(".rows.jsonl"))
    for path in (results.write(result, output), rows):
        out.print(f"wrote {path}")
