"""PolicyQA (SQuAD-format privacy-policy QA) read into documents and questions with gold spans.

``granularity="document"``: each policy is one document (its paragraphs, blank-line separated);
``"paragraph"``: each paragraph is its own document ``<policy>/p<i>.txt``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Question:
    text: str
    doc_id: str
    scope: str  # source filter (id or glob) of the question's policy
    spans: tuple[tuple[int, int], ...]  # answer spans as document character offsets


Granularity = Literal["document", "paragraph"]


def load_policyqa(
    path: Path, granularity: Granularity = "document"
) -> tuple[dict[str, str], list[Question]]:
    """Documents by id and questions with gold spans mapped into document offsets."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    docs: dict[str, str] = {}
    questions = []
    for policy in data:
        whole = f"{policy['title']}.txt"
        scope = whole if granularity == "document" else f"{policy['title']}/*"
        parts, offset = [], 0
        for number, paragraph in enumerate(policy["paragraphs"]):
            context = paragraph["context"]
            doc_id = whole
            if granularity == "paragraph":
                doc_id, offset = f"{policy['title']}/p{number:03d}.txt", 0
                docs[doc_id] = context
            for qa in paragraph["qas"]:
                spans = tuple(
                    (offset + a["answer_start"], offset + a["answer_start"] + len(a["text"]))
                    for a in qa["answers"]
                )
                questions.append(Question(qa["question"], doc_id, scope, spans))
            parts.append(context)
            offset += len(context) + 2
        if granularity == "document":
            docs[whole] = "\n\n".join(parts)
    return docs, questions
