"""The `hybrid` command line. Commands live in one module per layer."""

from __future__ import annotations

import os
import sys

from hybrid.cli import (  # noqa: F401  (registers the commands)
    answers,
    behaviour,
    clauses,
    drafts,
    knowledge,
    monitor,
    promotion,
    serve,
    triage,
    verify,
)
from hybrid.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: user errors print one line and exit 1, not a traceback."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from hybrid.errors import HybridError
    from hybrid.knowledge.loaders import LoadError

    try:
        app()
    except (HybridError, ValueError, LoadError, FileNotFoundError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
