"""Governing-law drafts: asked by the parties' names, does a draft name the contract's law, with
a verified footnote on the clause's page, and never a law the contract does not choose?

Gold from CUAD's master clauses (``Parties``, ``Governing Law``, ``Governing Law-Answer``). The
draft goes through the same router, engine and footnoting as ``POST /v1/drafts``.
"""

from __future__ import annotations

import ast
import csv
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from hybrid.answer.footnotes import footnoted
from hybrid.answer.router import Router
from hybrid.config import IngestConfig
from hybrid.datasets import cuad
from hybrid.evals.results import DraftCase, DraftsResult
from hybrid.knowledge.loaders import load_bytes, read_file
from hybrid.runtime.engine import Engine


@dataclass(frozen=True)
class Case:
    """One contract: the instruction naming its parties, its law ("" if none) and clause."""

    document: str
    instruction: str
    law: str
    clause: str


def _listed(cell: str) -> list[str]:
    return [str(x) for x in ast.literal_eval(cell)] if cell.startswith("[") else []


def _stem(name: str) -> str:
    return Path(name).stem.lower()


def cases(labels: Path, documents: Iterable[str]) -> tuple[list[Case], list[str]]:
    """A case per document that CUAD labels (by file stem), and every law CUAD names (the
    vocabulary a wrong law is looked up in: "Ontario, Canada" -> "Ontario")."""
    with labels.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    laws = sorted(
        {r["Governing Law-Answer"].split(",")[0].strip() for r in rows} - {""}, key=str.lower
    )
    by_stem = {_stem(r["Filename"]): r for r in rows}
    out = []
    for document in sorted(documents):
        row = by_stem.get(_stem(document))
        if row is None:
            continue
        # Names of parties, not roles or definitions ("Licensee", 'the "parties"').
        parties = [p for p in _listed(row["Parties"]) if len(p) > 3 and '"' not in p][:2]
        if len(parties) < 2:
            continue
        clauses = _listed(row["Governing Law"])
        out.append(
            Case(
                document,
                f"Which law governs the agreement between {parties[0]} and {parties[1]}?",
                row["Governing Law-Answer"].strip(),
                clauses[0] if clauses else "",
            )
        )
    return out, laws


def clause_page(pdf: Path, clause: str, ingest: IngestConfig) -> int | None:
    """The page holding the clause's first 50 characters (1-based), None if not found."""
    doc = load_bytes(read_file(pdf, ingest), pdf.name, ingest)
    return cuad.clause_page(cuad.page_texts(doc), clause)


def evaluate(
    router: Router,
    engine: Engine,
    route: str,
    collection: str,
    found: list[Case],
    laws: list[str],
    pdfs: Path,
) -> DraftsResult:
    """Draft every case; score the law, its footnote and wrong laws. Example in the README."""
    rows = []
    for case in tqdm(found, desc="drafts", unit="contract"):
        messages = [{"role": "user", "content": case.instruction}]
        comp = router.compose(route, messages, collections=[collection], kind="draft")
        text = ""
        if not comp.refused:
            text = engine.submit(comp.messages, comp.settings, comp.adapter).result(600).text
        answer = router.finish(comp, text)
        draft, notes, _ = footnoted(answer)
        law = case.law.split(",")[0].strip().lower()
        page = clause_page(pdfs / case.document, case.clause, router.config.ingest)
        named = bool(law) and law in draft.lower()
        footnote = named and any(
            n["verified"]
            and n["document"] == case.document
            and n["page"] == page
            and law in n["snippet"].lower()
            for n in notes
        )
        # "Province of Ontario" is the law "Ontario" under another name, not a wrong one.
        wrong = [
            x
            for x in laws
            if x.lower() in draft.lower() and not (law and (law in x.lower() or x.lower() in law))
        ]
        rows.append(
            DraftCase(
                **asdict(case),
                clause_page=page,
                named=named,
                footnote_on_page=footnote,
                wrong_laws=wrong,
                refused=answer.refused,
                draft=draft,
            )
        )
    with_law = [r for r in rows if r.law]
    return DraftsResult(
        n=len(rows),
        with_law=len(with_law),
        named_with_footnote=sum(r.footnote_on_page for r in with_law),
        named=sum(r.named for r in with_law),
        wrong_law=sum(bool(r.wrong_laws) for r in rows),
        refused_without_law=sum(r.refused for r in rows if not r.law),
        cases=rows,
    )
