"""`hybrid adapters promote | history | rollback`: the promotion gate and its log."""

from __future__ import annotations

from pathlib import Path

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
    name: str = typer.Argument(..., help="Adapter name in runtime.adapters (what routes serve)."),
    route: str = typer.Option(..., "--route", help="The route it is to serve."),
    force: str = typer.Option(
        None, "--force", help="Promote despite missed thresholds; the reason is recorded."
    ),
) -> None:
    """Run the route's eval for the adapter; promote it when routes.R.promotion's thresholds
    hold (or with --force "reason"), else refuse and print the failing figures."""
    from hybrid.cli.knowledge import embedder_for
    from hybrid.evals.promotion import measure, misses
    from hybrid.evals.promotion import promote as record

    config = ctx.obj.config()
    if route not in config.routes:
        raise ValueError(f"--route: unknown route {route!r} (known: {sorted(config.routes)})")
    gate = config.routes[route].promotion
    if gate is None:
        raise ValueError(
            f"routes.{route}.promotion: not set; the gate needs its eval set and thresholds"
        )
    if force is not None and not force.strip():
        raise ValueError('--force needs a reason: --force "why this adapter serves anyway"')
    if name not in config.runtime.adapters:
        known = sorted(config.runtime.adapters) or "none"
        raise ValueError(
            f"adapter {name!r} is not in runtime.adapters (known: {known}): a server can only "
            "serve adapters its recipe loads"
        )
    folder = Path(config.runtime.adapters[name])
    out.print(f"measuring {name} ({folder}) on route {route}: {gate.questions}")
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
    table = Table("at", "route", "action", "adapter", "digest", "fact_match", "reason / missed")
    for p in entries:
        fact = p.figures.get("fact_match")
        note = p.reason or "; ".join(p.failed)
        table.add_row(p.at, p.route, p.action, p.adapter, p.digest[:12],
                      "-" if fact is None else f"{fact:.3f}", note)  # fmt: skip
    out.print(table)
    for name in sorted({p.route for p in entries}):
        current = promotions.current(name)
        out.print(f"{name}: serves {current.adapter if current else 'nothing promoted'}")


@adapters_app.command("rollback")
def rollback(
    ctx: typer.Context, route: str = typer.Option(..., "--route", help="The route to roll back.")
) -> None:
    """Serve the adapter promoted before the current one; servers follow at their next request."""
    back = _promotions(ctx.obj.config()).rollback(route)
    out.print(f"rolled back: route {route} serves {back.adapter} again (digest {back.digest[:12]})")
