"""`hybrid feedback list|export` and `hybrid monitor`: the loop from agents back to training."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hybrid.cli.common import app, out

feedback_app = typer.Typer(help="Agents' ratings and corrections of answers.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


def _ledger(ctx: typer.Context):
    """(the recipe's ledger, its path); None when no server has written one yet (reading must
    not create an empty ledger)."""
    from hybrid.monitor.ledger import Ledger

    config = ctx.obj.config()
    path = config.monitor.ledger_path(config.index_dir)
    return (Ledger(path) if path.is_file() else None), path


@feedback_app.command("list")
def feedback_list(
    ctx: typer.Context,
    limit: int = typer.Option(50, help="Show the newest N (latest rating per answer)."),
) -> None:
    """Feedback with the question and answer it rates, newest last."""
    ledger, path = _ledger(ctx)
    if ledger is None or not (rows := ledger.feedback()):
        out.print(f"no feedback in {path} yet")
        return
    table = Table("id", "route", "rating", "question", "answer", "correction", "key")
    for f, a in rows[-limit:]:
        table.add_row(
            str(f.id),
            a.route,
            "up" if f.rating > 0 else "down",
            a.question[:60],
            a.answer[:60],
            (f.correction or "")[:60],
            f.key,
        )
    out.print(table)


@feedback_app.command("export")
def feedback_export(
    ctx: typer.Context,
    output: Path = typer.Argument(..., help="Chat JSONL to write (a recipe's feedback.path)."),
    allow_pii: str = typer.Option(
        None, help="Export despite residual PII after redaction; say why."
    ),
) -> None:
    """Corrections as RAFT-format training examples (redacted, PII-gated); thumbs-down without
    a correction as held-out eval cases beside them (<output>.heldout.jsonl)."""
    from hybrid.behaviour.feedback import export_feedback
    from hybrid.behaviour.redact import Redactor

    ledger, path = _ledger(ctx)
    if ledger is None:
        out.print(f"no ledger at {path}: the server has recorded no answers yet; nothing written")
        return
    report = export_feedback(ledger, Redactor(ctx.obj.config().redaction), output, allow_pii)
    if not report.written:
        out.print(f"no corrections or thumbs-down in {path} yet; nothing written")
        return
    out.print(
        f"{report.examples} training examples, {report.held_out} held-out cases "
        f"({report.approved} thumbs-up without a correction not exported); "
        f"redacted: {report.redaction.get('counts', {})}"
    )
    for written in report.written:
        out.print(f"wrote {written}")


@app.command()
def monitor(
    ctx: typer.Context,
    route: str = typer.Option(None, help="One route (default: every route in the ledger)."),
    every: int = typer.Option(10, help="A point of the history every N answers."),
    plot: Path = typer.Option(
        Path("evals/results/monitor.png"), help="PNG of each signal over time."
    ),
) -> None:
    """Drift per route from the answer ledger: signals of the latest window, and their history."""
    from hybrid.monitor.drift import SIGNALS, Observation, replay

    ledger, path = _ledger(ctx)
    if ledger is None:
        out.print(f"no ledger at {path}: the server has recorded no answers yet")
        return
    config = ctx.obj.config().monitor
    thresholds = config.thresholds.model_dump()
    histories = {}
    for name in [route] if route else ledger.routes():
        observed = [
            Observation.of(a, rating)
            for a, rating in ledger.answers(name)
            if a.id.startswith("chatcmpl-")
        ]
        histories[name] = replay(name, observed, config, every)
        if not histories[name]:
            out.print(
                f"{name}: warming up ({len(observed)} answers; the reference is the first "
                f"{config.reference_size})"
            )
            continue
        last = histories[name][-1][1]
        out.print(f"{name}: {last.status} ({len(observed)} answers; window {last.window})")
        table = Table("signal", "change", "threshold", "")
        for signal in SIGNALS:
            value = last.changes[signal]
            table.add_row(
                signal,
                "-" if value is None else f"{value:.3f}",
                f"{thresholds[signal]:g}",
                "past" if signal in last.drifting else "",
            )
        out.print(table)
    if any(histories.values()):
        _plot(histories, thresholds, plot)
        out.print(f"wrote {plot}")


def _plot(histories: dict, thresholds: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hybrid.monitor.drift import SIGNALS

    fig, axes = plt.subplots(2, 3, figsize=(12, 6), dpi=100, sharex=True)
    for ax, signal in zip(axes.flat, SIGNALS):
        for route, history in histories.items():
            points = [(n, r.changes[signal]) for n, r in history if r.changes[signal] is not None]
            if points:
                ax.plot(*zip(*points), label=route, marker=".")
        ax.axhline(thresholds[signal], color="red", linestyle="--", linewidth=0.8)
        ax.set_title(signal.replace("_", " "), fontsize=9)
    axes[0][0].legend(fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("answers seen")
    fig.suptitle("drift per route (red: threshold)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
