"""Adapter cards: ``card.json`` beside the PEFT files (provenance, data, metrics, versions)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from hybrid.schema import describe

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


class DataFile(BaseModel):
    """A file the adapter was trained from, by content."""

    path: str
    sha256: str
    examples: int | None = None


class Redaction(BaseModel):
    examples_scanned: int
    examples_changed: int
    counts: dict[str, int]


class Finding(BaseModel):
    source: str  # "file.csv:17"
    entity: str
    text: str


class PiiGate(BaseModel):
    findings: list[Finding] = []
    allow_pii_reason: str | None = None  # set when training went ahead despite findings


class BuiltSource(BaseModel):
    """One RAFT source as built: its collection's version and the documents it held out."""

    kind: str
    path: str
    route: str
    collection: str
    version: str | None
    questions: int
    examples: int
    held_out_documents: list[str] = []
    # What the collection held (staleness compares it with the collection later); empty in
    # cards written before hybrid recorded it.
    documents: dict[str, str] = {}  # document id -> content hash
    chunk_ids: list[str] = []


class RaftSnapshot(BaseModel):
    sources: list[BuiltSource] = []
    embedder: str = ""


class RaftRecord(BaseModel):
    """The recipe's ``raft:`` section as trained (extra keys), what it built, and the routes'
    evidence settings the prompts were written with (serve the adapter with the same)."""

    model_config = ConfigDict(extra="allow")
    snapshot: RaftSnapshot
    routes: dict[str, dict[str, Any]] = {}


class HeldOut(BaseModel):
    """How an eval command split its data by hash: the share held out and the seed. A gate
    must split the same way, or it scores the model on rows it trained on."""

    share: float
    seed: int


class AdapterCard(BaseModel):
    """What ``card.json`` holds. Unknown keys (a newer hybrid's) are kept, not refused.

    Example: ``read_card(Path("hybrid/adapters/answerer")).base_model``
    """

    model_config = ConfigDict(extra="allow")
    base_model: str  # what the adapter applies to: the one field a card must have
    name: str = ""
    created_at: str = ""
    libraries: dict[str, str] = {}
    base_model_hash: str | None = None
    base_model_licence: str | None = None
    data: list[DataFile] = []
    raft: RaftRecord | None = None
    redaction: Redaction | None = None
    pii_gate: PiiGate | None = None
    leak_report: dict[str, Any] | None = None  # splits.split_examples' report, as written
    splits: dict[str, int] = {}
    held_out_split: HeldOut | None = None  # task models: the split their eval held out
    feedback_examples: int = 0  # agents' corrections trained on (recipe key ``feedback``)
    hyperparameters: dict[str, Any] = {}  # the recipe's train: section
    metrics: dict[str, float | int | str | None] = {}
    wall_seconds: float | None = None
    merged_from: str | None = None

    def held_out(self, data: Path) -> list[str] | None:
        """Documents of ``data`` that the RAFT run held out of training (None: not a source)."""
        if self.raft is None:
            return None
        for source in self.raft.snapshot.sources:
            if Path(source.path).resolve() == Path(data).resolve():
                return source.held_out_documents
        return None


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


def write_card(adapter_dir: Path, card: AdapterCard) -> Path:
    """Write ``card.json`` stamped with the creation time and library versions; its path."""
    stamped = card.model_copy(
        update={
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "libraries": library_versions(),
        }
    )
    path = Path(adapter_dir) / CARD
    path.write_text(stamped.model_dump_json(indent=2) + "\n")
    return path


def read_card(adapter_dir: Path) -> AdapterCard:
    """The card of an adapter folder; FileNotFoundError without one, ValueError naming the file
    and field when it is not a card."""
    path = Path(adapter_dir) / CARD
    if not path.is_file():
        raise FileNotFoundError(f"{adapter_dir} is not an adapter (no {CARD})")
    try:
        return AdapterCard.model_validate_json(path.read_text())
    except ValidationError as error:
        raise ValueError(describe(error, str(path))) from None


def list_adapters(root: Path) -> list[tuple[Path, AdapterCard]]:
    """(folder, card) of every adapter under ``root``, newest first."""
    if not Path(root).is_dir():
        return []
    found = [(p, read_card(p)) for p in sorted(Path(root).iterdir()) if (p / CARD).is_file()]
    return sorted(found, key=lambda pc: pc[1].created_at, reverse=True)
