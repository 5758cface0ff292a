"""Agents' feedback into training data: a corrected answer becomes a RAFT-format example.

The example is the prompt the model read when it answered (the same numbered evidence the
RAFT format uses, from the ledger) with the agent's correction as the target, redacted and
gated on residual PII like any training data. A thumbs-down without a correction says an
answer was wrong but not what is right: it becomes a held-out eval case, never a target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hybrid.behaviour.data import Example, Message, write_openai_jsonl
from hybrid.behaviour.pipeline import gate, redact_examples, scan_for_pii
from hybrid.behaviour.redact import Redactor
from hybrid.monitor.ledger import AnswerRecord, Feedback, Ledger


@dataclass
class ExportReport:
    examples: int = 0  # corrected answers, written as training examples
    held_out: int = 0  # eval cases: thumbs-down without a correction, or refusals corrected
    approved: int = 0  # thumbs-up without a correction: counted, not exported
    redaction: dict = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)


def _case(f: Feedback, a: AnswerRecord) -> dict:
    """A held-out case: what was asked, what was wrong, what was right when the agent said."""
    return {
        "question": a.question,
        "route": a.route,
        "answer_id": a.id,
        "rejected_answer": a.answer,
        "expected_answer": f.correction,  # None: only "wrong" is known
        "documents": sorted({e.document for e in a.evidence}),
        "comment": f.comment,
    }


def split_feedback(ledger: Ledger) -> tuple[list[Example], list[dict], int]:
    """(training examples, held-out cases, thumbs-up count) from each answer's latest feedback.

    A correction of an answer the route refused before generating has no prompt to train on
    (no evidence was shown): it is a held-out case with its expected answer.
    """
    examples, cases, approved = [], [], 0
    for f, a in ledger.feedback():
        if f.correction and a.prompt:
            turns = [Message(m["role"], m["content"]) for m in a.prompt]
            documents = tuple(sorted({e.document for e in a.evidence}))
            examples.append(
                Example(
                    (*turns, Message("assistant", f.correction)),
                    source=f"feedback:{f.id}",
                    keep=documents,  # document ids are provenance, not PII
                )
            )
        elif f.correction or f.rating < 0:
            cases.append(_case(f, a))
        else:
            approved += 1
    return examples, cases, approved


def export_feedback(
    ledger: Ledger,
    redactor: Redactor,
    output: Path,
    allow_pii: str | None = None,
    progress: bool = False,
) -> ExportReport:
    """Write ``output`` (chat JSONL, ``train.feedback`` reads it) and ``<output>.heldout.jsonl``.

    Raises ``ResidualPII`` (nothing written) when redaction leaves PII and no reason is given.
    Example: ``export_feedback(Ledger(path), Redactor(), Path("data/feedback.jsonl"))``
    """
    examples, cases, approved = split_feedback(ledger)
    report = ExportReport(len(examples), len(cases), approved)
    if not examples and not cases:
        return report
    redacted, redaction, _ = redact_examples(examples, redactor, progress)
    gate(scan_for_pii(redacted, redactor, progress=progress), allow_pii)
    report.redaction = redaction.to_dict()
    if redacted:
        write_openai_jsonl(redacted, output)
        report.written.append(output)
    if cases:
        held = output.with_name(output.stem + ".heldout.jsonl")
        with open(held, "w", encoding="utf-8") as handle:
            for case in cases:
                fields = ("question", "rejected_answer", "expected_answer", "comment")
                texts = [case[k] or "" for k in fields]
                turns = redactor.redact_example(texts, case["documents"]).turns
                case |= {k: t or None for k, t in zip(fields, turns)}
                handle.write(json.dumps(case, ensure_ascii=False) + "\n")
        report.written.append(held)
    return report
