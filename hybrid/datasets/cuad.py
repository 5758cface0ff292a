"""CUAD's master clauses CSV as labelled clause texts, and its contracts split by contract.

Each contract row lists, per clause category, the clause texts annotators marked; one text can
carry several categories ("Cap On Liability" and "Uncapped Liability" share carve-outs). A text
whose categories are none of the types a model learns is a passage of no type for it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hybrid.config.clauses import CUAD_TYPES
from hybrid.datasets.qa_sets import fraction, listed
from hybrid.knowledge.loaders import LoadedDocument

MIN_WORDS = 4  # "Nevada", "5/8/14": answers to look up, not clauses to classify
KEY_CHARS = 50  # how much of a clause's start locates it on a page
__all__ = [
    "ClauseText", "clause_page", "clause_texts", "listed", "page_texts", "pdf_files",
    "read_rows", "split_contracts", "stem",
]  # fmt: skip


@dataclass(frozen=True)
class ClauseText:
    contract: str  # the CSV's file name
    text: str  # whitespace folded
    types: frozenset[str]  # every CUAD category annotators gave this text in this contract


def stem(name: str) -> str:
    """How a contract is matched to its PDF: the file name without extension, lower case."""
    return Path(name).stem.lower()


def read_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such CUAD master clauses CSV")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    missing = [c for c in ("Filename", *CUAD_TYPES) if rows and c not in rows[0]]
    if not rows or missing:
        raise ValueError(f"{path}: not CUAD's master clauses CSV (missing column {missing[:1]})")
    return rows


def clause_texts(rows: Sequence[dict[str, str]]) -> list[ClauseText]:
    """Every labelled text of at least four words, once per contract, with all its categories.

    Example: ``clause_texts(read_rows(csv))[0].types`` -> ``frozenset({"Governing Law"})``
    """
    out = []
    for row in rows:
        found: dict[str, set[str]] = {}
        for category in CUAD_TYPES:
            for text in listed(row[category]):
                if len(text.split()) >= MIN_WORDS:
                    found.setdefault(text, set()).add(category)
        out += [ClauseText(row["Filename"], t, frozenset(c)) for t, c in found.items()]
    return out


def pdf_files(folder: Path) -> list[Path]:
    """The folder's PDFs, sorted (CUAD names end in .pdf or .PDF)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() == ".pdf")


def split_contracts(
    texts: Sequence[ClauseText], held_out: float, seed: int, exclude: set[str]
) -> tuple[list[ClauseText], list[ClauseText]]:
    """(training, held-out) by contract, chosen by hash: a contract's clauses never straddle
    the split. Contracts whose stem is in ``exclude`` (the PDFs evaluated page by page) are in
    neither."""
    kept = [t for t in texts if stem(t.contract) not in exclude]
    train = [t for t in kept if fraction(t.contract, seed) >= held_out]
    test = [t for t in kept if fraction(t.contract, seed) < held_out]
    return train, test


def _folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def page_texts(doc: LoadedDocument) -> list[str]:
    """Each page's text, whitespace folded and lower case: where ``clause_page`` looks."""
    starts = [*doc.page_starts, len(doc.text)] if doc.page_starts else [0, len(doc.text)]
    return [_folded(doc.text[a:b]) for a, b in zip(starts, starts[1:], strict=False)]


def clause_page(pages: Sequence[str], clause: str) -> int | None:
    """The 1-based page holding the clause's first 50 characters (whitespace folded: about 5%
    of CUAD's texts differ from the PDF's in spacing), None when extraction lost it."""
    key = _folded(clause)[:KEY_CHARS]
    for number, text in enumerate(pages, start=1):
        if key and key in text:
            return number
    return None
