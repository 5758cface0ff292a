"""`hybrid adapters promote | history | rollback`: the promotion gate and its log."""

from __future__ import annotations

import typer
from rich.table import Table

from hybrid.cli.behaviour import adapters_app
from hybrid.cli.common import out


def _promotions(config):
    from hybrid.models.promotions import Promotions, promotions_path

    return Promotions(promotions_path(config.index_dir))


@adapters_app.command("promote")
def promote(
    ctx: typer.Context,
    name: str = typer.Argument(
        ...,
        help="Adapter name in runtime.adapters (answer routes), or the model's folder "
        "(routes triage and clauses).",
    ),
    route: str = typer.Option(
        ..., "--route", help="The route it is to serve: an answer route, triage or clauses."
    ),
    force: str = typer.Option(
        None, "--force", help="Promote despite missed thresholds; the reason is recorded."
    ),
) -> None:
    """Run the route's eval for the adapter (the answers grid, or the triage or clauses eval
    on held-out data); promote it when the gate's thresholds hold (or with --force "reason"),
    else refuse and print the failing figures."""
    from hybrid.cli.knowledge import embedder_for
    from hybrid.evals.promotion import measure, misses, target
    from hybrid.evals.promotion import promote as record

    config = ctx.obj.config()
    if force is not None and not force.strip():
        raise ValueError('--force needs a reason: --force "why this adapter serves anyway"')
    gate, folder = target(config, route, name)
    out.print(f"measuring {name} ({folder}) on route {route}")
    figures = measure(config, embedder_for(config), route, folder, gate)
    failed = misses(figures, gate)
    table = Table("metric", "value", "threshold", "")
    for bound, limits in (("min", gate.min), ("max", gate.max)):
        for metric, limit in limits.items():
            value = figures.get(metric)
            shown = "-" if value is None else f"{value:.3f}"
            verdict = "[red]missed[/]" if metric in failed else "ok"
            table.add_row(metric, shown, f"{bound} {limit}", verdict)
    out.print(table)
    done = record(_promotions(config), route, name, folder, figures, gate, force)
    out.print(f"{done.action}: {name} serves route {route} (digest {done.digest[:12]})")


@adapters_app.command("history")
def history(
    ctx: typer.Context, route: str = typer.Option(None, "--route", help="Only this route.")
) -> None:
    """Every promotion, forced promotion and rollback, oldest first, and what serves now."""
    promotions = _promotions(ctx.obj.config())
    entries = promotions.history(route)
    if not entries:
        out.print(f"no promotions yet ({promotions.path})")
        return
    table = Table("at", "route", "action", "adapter", "digest", "headline", "reason / missed")
    for p in entries:
        note = p.reason or "; ".join(p.failed)
        table.add_row(p.at, p.route, p.action, p.adapter, p.digest[:12], _headline(p), note)

    out.print(table)
    for name in sorted({p.route for p in entries}):
        current = promotions.current(name)
        out.print(f"{name}: serves {current.adapter if current else 'nothing promoted'}")


def _headline(promotion) -> str:
    """The figure a reader looks at first: fact match, intent macro-F1, or clause macro-F1."""
    for metric in ("fact_match", "intent_macro_f1", "macro_f1"):
        value = promotion.figures.get(metric)
        if value is not None:
            return f"{metric} {value:.3f}"
    return "-"


@adapters_app.command("rollback")
def rollback(
    ctx: typer.Context, route: str = typer.Option(..., "--route", help="The route to roll back.")
) -> None:
    """Serve the adapter promoted before the current one; servers follow at their next request."""
    back = _promotions(ctx.obj.config()).rollback(route)
    out.print(f"rolled back: route {route} serves {back.adapter} again (digest {back.digest[:12]})")
