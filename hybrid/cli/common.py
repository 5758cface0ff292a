"""The Typer apps and the per-invocation context shared by every command group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from hybrid.config import HybridConfig, load_config, parse_config

app = typer.Typer(
    help="hybrid: fine-tune for behaviour, retrieve for knowledge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="Build and manage collections.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluations.", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")
out = Console(highlight=False)


@dataclass(frozen=True)
class Context:
    config_path: Path | None
    index_dir: Path | None

    def config(self, embedder_dtype: str | None = None) -> HybridConfig:
        """The recipe (or defaults), with the embedder dtype overridden when given."""
        config = load_config(self.config_path, self.index_dir)
        if embedder_dtype is None:
            return config
        data = config.model_dump(mode="json")
        data["embedder"]["dtype"] = embedder_dtype
        return parse_config(data, "--dtype")


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML recipe (configs/*.yaml)."
    ),
    index_dir: Path | None = typer.Option(
        None, "--index-dir", help="Index root (default: $HYBRID_INDEX_DIR, else the recipe's)."
    ),
) -> None:
    ctx.obj = Context(config, index_dir)
