"""CLI command of the serving layer: `hybrid serve`."""

from __future__ import annotations

import ipaddress
import logging

import typer

from hybrid.cli.common import app, out
from hybrid.config import HybridConfig


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(config: HybridConfig, host: str | None = None, port: int | None = None) -> None:
    """Load the embedder and the engine once, then serve until interrupted."""
    import uvicorn

    from hybrid.knowledge.embedder import Embedder
    from hybrid.runtime import create_engine
    from hybrid.serve.app import create_app

    host = host or config.serve.host
    port = config.serve.port if port is None else port
    if not config.serve.keys and not _loopback(host):
        raise ValueError(
            f"serve.keys is empty: refusing to serve {host} without API keys (anyone could "
            "read and change the collections); bind 127.0.0.1 or configure keys"
        )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from threadpoolctl import threadpool_limits

    # numpy's BLAS threads spin ~0.1 s after each small matmul (verification, BM25) and steal
    # the cores from generation; one BLAS thread costs nothing at these sizes.
    threadpool_limits(1, user_api="blas")
    engine = create_engine(config.runtime)
    if any(r.collections and r.evidence.unknown_nouns is not None for r in config.routes.values()):
        from hybrid.answer.unknown import warm

        warm()  # spaCy's tagger (~8 s here) loads at the start, not in the first answer
    if getattr(engine, "compiled", False):
        out.print("compiling the decoder for the common batch shapes (CUDA, once)...")
        engine.warmup()  # type: ignore[attr-defined]
    app_ = create_app(config, engine, Embedder(config.embedder))
    if not config.serve.keys:
        out.print("[yellow]no API keys configured: open access, loopback only[/yellow]")
    routes = ", ".join(f"{n} -> {list(r.collections) or 'chat'}" for n, r in config.routes.items())
    out.print(f"engine: {engine.name}; routes: {routes}")
    out.print(f"page: http://{host}:{port}/   API: http://{host}:{port}/v1/chat/completions")
    uvicorn.run(app_, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)


@app.command()
def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Bind address (default: serve.host)."),
    port: int | None = typer.Option(None, help="Port (default: serve.port)."),
) -> None:
    """Start the API server: chat (OpenAI-compatible), drafts, documents, /metrics, page at /."""
    run_server(ctx.obj.config(), host, port)
