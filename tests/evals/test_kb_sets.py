"""The shipped KB question sets: every split reads, and every gold answer is in the text the
loaders give its document (what the grid's fact match can find), as the set's README promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.config import IngestConfig
from hybrid.datasets.qa_sets import read_kb
from hybrid.evals.metrics import fact_match
from hybrid.knowledge.loaders import load_bytes

KB = Path(__file__).resolve().parents[2] / "evals" / "data" / "kb"
SPLITS = sorted(p.name for p in KB.iterdir() if (p / "questions.jsonl").is_file())


def test_every_split_of_the_readme_is_there():
    assert {"train", "heldout", "fresh", "fresh2", "fresh3", "fresh4"} <= set(SPLITS)


@pytest.mark.parametrize("split", SPLITS)
def test_every_gold_answer_is_in_its_documents_text(split: str):
    qa_set = read_kb(KB / split / "docs", KB / split / "questions.jsonl")
    texts = {
        path.name: load_bytes(path.read_bytes(), path.name, IngestConfig()).text
        for path in (KB / split / "docs").iterdir()
    }
    missing = [
        (qa.question, qa.answers)
        for qa in qa_set.questions
        if qa.answers
        and not all(fact_match(texts[d], (a,)) for d in qa.documents[:1] for a in qa.answers)
    ]
    assert not missing
    answerable = sum(bool(qa.answers) for qa in qa_set.questions)
    assert answerable and len(qa_set.questions) > answerable  # both kinds in every split
