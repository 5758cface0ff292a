"""Adapter cards: ``card.json`` beside the PEFT files (provenance, data, metrics, versions)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import time
from pathlib import Path

CARD = "card.json"
LIBRARIES = (
    "hybrid",
    "torch",
    "transformers",
    "peft",
    "trl",
    "datasets",
    "presidio-analyzer",
    "spacy",
    "sentence-transformers",
)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_card(adapter_dir: Path, card: dict) -> Path:
    """Write ``card.json`` (adds creation time and library versions). Returns its path."""
    card = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "libraries": library_versions(),
        **card,
    }
    path = adapter_dir / CARD
    path.write_text(json.dumps(card, indent=2, default=str) + "\n")
    return path


def read_card(adapter_dir: Path) -> dict:
    path = Path(adapter_dir) / CARD
    if not path.is_file():
        raise FileNotFoundError(f"{adapter_dir} is not an adapter (no {CARD})")
    return json.loads(path.read_text())


def list_adapters(root: Path) -> list[dict]:
    """Cards of every adapter under ``root``, newest first."""
    if not Path(root).is_dir():
        return []
    cards = [
        read_card(p) | {"path": str(p)}
        for p in sorted(Path(root).iterdir())
        if (p / CARD).is_file()
    ]
    return sorted(cards, key=lambda c: c.get("created_at", ""), reverse=True)
