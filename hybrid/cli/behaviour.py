"""CLI commands of the behaviour layer: models, redact, train, adapters, eval redaction."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from hybrid.cli.common import app, eval_app, out
from hybrid.config import DataConfig, load_config

models_app = typer.Typer(help="Base models.", no_args_is_help=True)
adapters_app = typer.Typer(help="Trained LoRA adapters.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(adapters_app, name="adapters")


@models_app.command("prepare")
def models_prepare() -> None:
    """Convert the embedded SmolLM2 GGUF into a safetensors cache (once; later runs skip)."""
    from hybrid.models.base import prepare_embedded

    out.print(f"embedded model ready at {prepare_embedded()}")


@app.command()
def redact(
    ctx: typer.Context,
    source: Path = typer.Argument(..., help="Chat JSONL, Alpaca JSONL or CSV."),
    target: Path = typer.Argument(..., help="Redacted chat JSONL to write."),
    data_format: str = typer.Option("auto", "--format", help="auto | chat | alpaca | csv."),
    label_column: str = typer.Option(None, help="CSV column kept as the label (e.g. intent)."),
    reversible: bool = typer.Option(
        False, help="Also write TARGET.mapping.json (mode 0600): placeholder -> original."
    ),
) -> None:
    """Replace PII with typed pseudonyms (<PERSON_1>, consistent within an example)."""
    from hybrid.behaviour.data import read_examples, write_openai_jsonl
    from hybrid.behaviour.pipeline import redact_examples
    from hybrid.behaviour.redact import Redactor, write_mapping

    config = ctx.obj.config()
    columns = config.data.columns if config.data else DataConfig(path=source).columns
    if label_column:
        columns = columns.model_copy(update={"label": label_column})
    data = DataConfig(path=source, format=data_format, columns=columns)  # type: ignore[arg-type]
    examples = read_examples(data)
    redacted, report, mappings = redact_examples(examples, Redactor(config.redaction), True)
    write_openai_jsonl(redacted, target, keep_labels=True)
    summary = report.to_dict()
    report_path = target.with_name(target.name + ".report.json")
    report_path.write_text(json.dumps(summary, indent=2) + "\n")
    if reversible or config.redaction.reversible:
        write_mapping(target.with_name(target.name + ".mapping.json"), mappings)
    table = Table(
        "entity",
        "count",
        title=f"{summary['examples_changed']} of {summary['examples_scanned']} examples changed",
    )
    for entity, count in summary["counts"].items():
        table.add_row(entity, str(count))
    out.print(table)
    out.print(f"wrote {target} and {report_path}")


@app.command()
def train(
    ctx: typer.Context,
    recipe: Path = typer.Argument(..., help="YAML recipe with data: and train: sections."),
    allow_pii: str = typer.Option(
        None, help="Train despite residual PII; the reason goes into the adapter card."
    ),
    resume: bool = typer.Option(False, help="Continue from the last checkpoint."),
    max_steps: int = typer.Option(None, help="Override train.max_steps."),
) -> None:
    """Redact (if the recipe says so), gate on residual PII, split, LoRA-tune, write the card."""
    from hybrid.behaviour.pipeline import run_training

    config = load_config(recipe, ctx.obj.index_dir)
    if max_steps:
        config = config.model_copy(
            update={"train": config.train.model_copy(update={"max_steps": max_steps})}
        )
    result = run_training(config, allow_pii=allow_pii, resume=resume)
    m = result.metrics
    out.print(
        f"adapter {result.adapter_dir}: {m['steps']} steps, validation loss "
        f"{m.get('val_loss_before', float('nan')):.3f} -> "
        f"{m.get('val_loss_after', float('nan')):.3f}, {m['wall_seconds']:.0f} s"
    )


@adapters_app.command("list")
def adapters_list(ctx: typer.Context) -> None:
    """Adapters under train.adapters_dir, newest first."""
    from hybrid.models.cards import list_adapters

    table = Table("adapter", "base model", "steps", "val loss", "created")
    for folder, card in list_adapters(ctx.obj.config().train.adapters_dir):
        loss = card.metrics.get("val_loss_after")
        table.add_row(
            card.name or folder.name,
            card.base_model,
            str(card.metrics.get("steps", "")),
            f"{loss:.3f}" if isinstance(loss, float) else "",
            card.created_at,
        )
    out.print(table)


@adapters_app.command("show")
def adapters_show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Adapter name (folder under train.adapters_dir)."),
    merge: Path = typer.Option(None, "--merge", help="Export base + adapter merged here."),
) -> None:
    """Print an adapter's card and how far its RAFT collections moved since it was trained;
    --merge writes a standalone merged model."""
    from hybrid.behaviour.adapters import merge as merge_adapter
    from hybrid.models.cards import read_card
    from hybrid.monitor.staleness import staleness

    config = ctx.obj.config()
    folder = config.train.adapters_dir / name
    card = read_card(folder)
    out.print_json(card.model_dump_json())
    stale = staleness(card, config.index_dir, config.monitor.stale_share)
    if stale:
        table = Table("collection", "trained on", "now", "documents", "chunks", "staleness")
        for s in stale:
            share = [
                "-" if v is None else f"{v:.0%}" for v in (s.documents_changed, s.chunks_changed)
            ]
            table.add_row(
                s.collection, s.trained_version or "-", s.current_version or "-", *share, s.note
            )
        out.print(table)
    if merge:
        out.print(f"merged model written to {merge_adapter(folder, merge)}")


@eval_app.command("redaction")
def eval_redaction(
    ctx: typer.Context,
    data: Path = typer.Option(
        ..., help="Presidio synthetic set, e.g. ../shared/data/pii/presidio_synth_v2.json."
    ),
    limit: int = typer.Option(None, help="Score only the first N sentences."),
    output: Path = typer.Option(Path("evals/results/redaction-presidio-synth.json")),
) -> None:
    """Precision, recall and F2 per PII type (span overlap) on the Presidio synthetic set."""
    from hybrid.behaviour.redact import Redactor
    from hybrid.evals import results
    from hybrid.evals.redaction import evaluate

    result = evaluate(data, Redactor(ctx.obj.config().redaction), limit=limit)
    table = Table("entity", "gold", "precision", "recall", "F2", title="PII redaction")
    for entity, m in [*result.per_type.items(), ("overall", result.overall)]:
        table.add_row(entity, str(m.gold), f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f2:.3f}")
    out.print(table)
    out.print(f"wrote {results.write(result, output)}")
