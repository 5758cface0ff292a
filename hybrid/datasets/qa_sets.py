"""Question sets the answers eval and RAFT read: SQuAD JSON, KB folders + JSONL, CUAD clauses.

Every reader returns documents (id -> text, to index) and ``QA`` items with their gold: answer
strings, gold documents, and gold evidence spans (character offsets into the gold document).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hybrid.config import HybridConfig
from hybrid.datasets.policyqa import load_policyqa
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.sync import SyncReport, sync_folder


@dataclass(frozen=True)
class QA:
    """One question and its gold. ``answers == ()`` means the documents do not answer it."""

    question: str
    answers: tuple[str, ...]
    documents: tuple[str, ...]  # gold document ids (citation gold for KB sets)
    evidence: tuple[tuple[int, int], ...] = ()  # gold spans in documents[0] (paragraph / clause)
    answer_spans: tuple[tuple[int, int], ...] = ()  # the answers' own spans, where known
    scope: tuple[str, ...] = ()  # retrieval filter: the question's own documents ("" = all)
    source: str = ""  # file:line or file:question number

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class QASet:
    name: str
    documents: dict[str, str] | None  # texts to index; None: index ``folder`` as it is
    folder: Path | None
    questions: list[QA]


def fraction(key: str, seed: int) -> float:
    """A deterministic number in [0, 1) for a key: hash-based splits that never move."""
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def read_squad(path: Path) -> QASet:
    """SQuAD-format JSON (e.g. PolicyQA): one document per title; the gold evidence is the
    paragraph holding the answer span; questions are scoped to their own title.

    Example: ``read_squad(Path("../shared/data/policyqa/dev.json")).questions[0].scope``
    """
    path = Path(path)
    docs, questions = load_policyqa(path)
    items = []
    for number, q in enumerate(questions):
        text = docs[q.doc_id]
        start = q.spans[0][0]
        para_start = text.rfind("\n\n", 0, start)
        para_start = 0 if para_start < 0 else para_start + 2
        para_end = text.find("\n\n", start)
        para_end = len(text) if para_end < 0 else para_end
        answers = tuple(dict.fromkeys(text[a:b] for a, b in q.spans))
        items.append(
            QA(
                q.text,
                answers,
                (q.doc_id,),
                ((para_start, para_end),),
                q.spans,
                (q.scope,),
                f"{path.name}:q{number}",
            )
        )
    return QASet(path.stem, docs, None, items)


def read_kb(docs: Path, questions: Path) -> QASet:
    """A folder of documents plus a JSONL of ``{"question", "answers", "documents"}`` lines.

    Errors name the file, the line and the field; nothing is read past the first one.
    """
    docs, questions = Path(docs), Path(questions)
    if not docs.is_dir():
        raise ValueError(f"--docs {docs}: not a folder")
    known = {p.relative_to(docs).as_posix() for p in docs.rglob("*") if p.is_file()}
    items = []
    try:
        lines = questions.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{questions}: cannot read: {error}") from None
    for number, line in enumerate(lines, start=1):
        where = f"{questions}:{number}"
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{where}: expected an object, got {type(row).__name__}")
        extra = set(row) - {"question", "answers", "documents"}
        if extra:
            raise ValueError(f"{where}: unknown field {sorted(extra)[0]!r}")
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{where}: question: expected a non-empty string, got {question!r}")
        for field in ("answers", "documents"):
            value = row.get(field)
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"{where}: {field}: expected a list of strings, got {value!r}")
        unknown = [d for d in row["documents"] if d not in known]
        if unknown:
            raise ValueError(f"{where}: documents: {unknown[0]!r} is not a file in {docs}")
        if row["answers"] and not row["documents"]:
            raise ValueError(f"{where}: documents: an answerable question needs its documents")
        items.append(QA(question, tuple(row["answers"]), tuple(row["documents"]), source=where))
    if not items:
        raise ValueError(f"{questions}: no questions")
    return QASet(questions.parent.name or questions.stem, None, docs, items)


# A plain question for the clause categories that customers and lawyers actually ask about.
CUAD_QUESTIONS = {
    "Governing Law": "Which law governs this agreement?",
    "Expiration Date": "When does the term of this agreement end?",
    "Renewal Term": "Does the agreement renew automatically, and for how long?",
    "Notice Period To Terminate Renewal": "How much notice is needed to stop a renewal?",
    "Exclusivity": "Does the agreement grant any exclusivity?",
    "Non-Compete": "Is either party restricted from competing?",
    "Termination For Convenience": "Can a party terminate the agreement without cause?",
    "Change Of Control": "What happens if a party undergoes a change of control?",
    "Anti-Assignment": "Can a party assign this agreement to someone else?",
    "Revenue/Profit Sharing": "Does a party pay royalties or share revenue?",
    "Minimum Commitment": "Is there a minimum purchase or volume commitment?",
    "License Grant": "What license does the agreement grant?",
    "Audit Rights": "Does a party have the right to audit the other's records?",
    "Cap On Liability": "Is a party's liability limited or capped?",
    "Insurance": "What insurance must a party maintain?",
    "Warranty Duration": "How long does the warranty last?",
    "Post-Termination Services": "What obligations continue after the agreement ends?",
    "Ip Ownership Assignment": "Who owns intellectual property created under the agreement?",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def read_cuad(
    path: Path,
    exclude: tuple[str, ...] = (),
    limit: int = 100,
    seed: int = 0,
    unanswerable: float = 0.15,
) -> QASet:
    """CUAD's master clauses CSV as contract excerpts: each contract becomes one document of
    its labelled clauses; each category of ``CUAD_QUESTIONS`` is a question, answered by its
    clause (the evidence span) or, where the contract has none, unanswerable.

    ``exclude``: file-name prefixes of contracts kept out (e.g. the PDFs a demo serves);
    ``unanswerable``: the share of a contract's missing categories asked anyway.
    """
    csv.field_size_limit(1 << 30)
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows = [r for r in rows if not any(r["Filename"].startswith(p) for p in exclude)]
    rows.sort(key=lambda r: fraction(r["Filename"], seed))
    docs: dict[str, str] = {}
    items: list[QA] = []
    for row in rows[:limit]:
        doc_id = _UNSAFE.sub("_", Path(row["Filename"]).stem)[:100] + ".txt"
        starts: dict[str, int] = {}  # clause text -> its offset in the document
        where: dict[str, list[tuple[int, int]]] = {}
        length = 0
        for category in row:
            if category.endswith("Answer") or category in ("Filename", "Document Name"):
                continue
            for clause in _clauses(row[category]):
                if clause not in starts:  # one clause may be labelled with several categories
                    starts[clause] = length + (2 if starts else 0)
                    length = starts[clause] + len(clause)
                start = starts[clause]
                where.setdefault(category, []).append((start, start + len(clause)))
        if not starts:
            continue
        docs[doc_id] = "\n\n".join(starts)
        for category, question in CUAD_QUESTIONS.items():
            spans = tuple(where.get(category, ()))
            if not spans and fraction(doc_id + category, seed) >= unanswerable:
                continue
            text = docs[doc_id]
            answers = tuple(text[a:b] for a, b in spans)
            items.append(
                QA(
                    question,
                    answers,
                    (doc_id,) if spans else (),
                    spans,
                    spans,
                    (doc_id,),
                    f"{path.name}:{doc_id}:{category}",
                )
            )
    return QASet("cuad", docs, None, items)


def listed(cell: str) -> list[str]:
    """A CUAD cell's clause texts (the CSV writes Python lists), whitespace folded."""
    cell = cell.strip()
    if not cell.startswith("["):
        return []
    try:
        values = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return []
    return [" ".join(str(v).split()) for v in values]


def _clauses(cell: str) -> list[str]:
    return [text for text in listed(cell) if len(text.split()) >= 4]


def index_set(
    collection: str, qa_set: QASet, config: HybridConfig, embedder: Embedder, progress: bool
) -> SyncReport:
    """Sync the set's documents into ``collection`` (incrementally: unchanged ones are kept)."""
    if qa_set.folder is not None:
        return sync_folder(collection, qa_set.folder, config.knowledge, embedder, progress=progress)
    with tempfile.TemporaryDirectory() as folder:
        for doc_id, text in (qa_set.documents or {}).items():
            path = Path(folder) / doc_id
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return sync_folder(collection, Path(folder), config.knowledge, embedder, progress=progress)
