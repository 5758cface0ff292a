"""The answers grid: end to end on a 3-document corpus with a tiny random model, and its scoring
on hand-made outcomes (a random model's words cannot be right, so the numbers are checked there).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from hybrid.datasets.qa_sets import QA, read_kb
from hybrid.evals.answers import ARMS, Outcome, parse_arms, run_grid, score, write_outputs
from hybrid.evals.results import (
    ClausesResult,
    DraftsResult,
    GridResult,
    RedactionResult,
    RetrievalResult,
    TriageResult,
    read,
)
from hybrid.knowledge.search import SearchResult
from tests.conftest import make_config

QUESTIONS = [
    {
        "question": "How long do I have to return a sale item?",
        "answers": ["14 days"],
        "documents": ["refunds.md"],
    },
    {
        "question": "How long does standard delivery take?",
        "answers": ["3-5 business days"],
        "documents": ["shipping.txt"],
    },
    {"question": "Who painted the Mona Lisa?", "answers": [], "documents": []},
]
INSTRUCTIONS = "Question: \n\nAnswer in one or two sentences using only the numbered sentences."


@pytest.fixture(scope="module")
def tiny_adapter(tiny_llama: Path, tmp_path_factory) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    lora = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"])
    lora.init_lora_weights = False
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_llama), lora)
    folder = tmp_path_factory.mktemp("tiny-adapter")
    model.save_pretrained(folder)
    (folder / "card.json").write_text(json.dumps({"base_model": str(tiny_llama)}))
    return folder


def write_questions(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_grid_runs_every_arm_through_the_route(
    tmp_path, embedder, docs_folder, tiny_llama, tiny_adapter
):
    config = make_config(
        tmp_path,
        runtime={"base_model": str(tiny_llama), "dtype": "fp32", "device": "cpu"},
        routes={"support": {"generation": {"max_new_tokens": 12}, "min_similarity": 0.2}},
    )
    qa_set = read_kb(docs_folder, write_questions(tmp_path / "q.jsonl", QUESTIONS))
    result, outcomes = run_grid(
        qa_set, config, embedder, "support", ARMS, tiny_adapter, progress=False
    )
    assert set(result.arms) == set(ARMS) and len(outcomes) == 3 * 4
    assert (result.n, result.answerable, result.unanswerable) == (3, 2, 1)
    for arm, values in result.arms.items():
        for name, value in values.model_dump().items():
            if value is not None and not name.startswith(("latency", "answer_tok", "prompt_tok")):
                assert 0.0 <= value <= 1.0, (arm, name, value)
    rag = [o for o in outcomes if o.arm == "base+rag"]
    closed = [o for o in outcomes if o.arm == "base"]
    # RAG arms read the numbered evidence (longer prompts); closed-book arms read none.
    assert min(o.prompt_tokens for o in rag if o.generated) > max(o.prompt_tokens for o in closed)
    assert all(o.cited == () for o in closed)
    assert [o for o in rag if o.qa.question.startswith("Who")][0].refused  # below min_similarity
    written = write_outputs(result, outcomes, tmp_path / "out" / "grid.json")
    assert [p.suffix for p in written] == [".json", ".jsonl", ".png"]
    assert read(GridResult, written[0]) == result
    rows = [json.loads(line) for line in written[1].read_text().splitlines()]
    assert len(rows) == 12 and {"overruled", "said", "scope", "cited"} <= set(rows[0])
    # What the model wrote before the checks; nothing where the route refused before asking it.
    assert [r["said"] for r in rows] == [o.said for o in outcomes]
    assert all(o.said == "" for o in outcomes if not o.generated) and any(o.said for o in rag)
    assert written[2].read_bytes()[:4] == b"\x89PNG"


def _evidence(doc: str, start: int = 0, end: int = 40) -> SearchResult:
    return SearchResult(1, 1.0, "c", doc, "x", None, None, "", start, end)


def _outcome(qa: QA, text: str, refused=False, cited=(), generated=True) -> Outcome:
    return Outcome(qa, "tuned+rag", text, refused, cited, 1.0, 100, 10, generated)


def test_scores_on_hand_made_answers():
    answerable = QA("Sale items?", ("14 days",), ("refunds.md",))
    unanswerable = QA("Mona Lisa?", (), ())
    perfect = _outcome(
        answerable,
        "Sale items can be returned within 14 days [1].",
        cited=((_evidence("refunds.md"), True),),
    )
    metrics = score([perfect, _outcome(unanswerable, "No.", refused=True)], INSTRUCTIONS)
    assert metrics.fact_match == metrics.fact_match_verified == 1.0
    assert metrics.answer_recall == 1.0 and metrics.citation_precision == 1.0
    assert metrics.citation_recall == metrics.verified_rate == 1.0
    assert metrics.refusal_recall == 1.0 and metrics.false_refusal == 0.0
    assert metrics.echo_rate == metrics.loop_rate == 0.0
    exact = QA("Sale items?", ("within 14 days",), ("refunds.md",))
    assert score([_outcome(exact, "Within 14 days [1].")], INSTRUCTIONS).token_f1 == 1.0

    echo = _outcome(answerable, "Question: Sale items? Answer in one or two sentences using only")
    loop = _outcome(answerable, "14 days. 14 days. 14 days.")
    wrong = _outcome(answerable, "30 days [1].", cited=((_evidence("shipping.txt"), False),))
    refused = _outcome(answerable, "The documents do not cover this question.", refused=True)
    said = _outcome(unanswerable, "Leonardo painted it.")
    metrics = score([echo, loop, wrong, refused, said], INSTRUCTIONS)
    assert metrics.echo_rate == 0.2 and metrics.loop_rate == 0.2
    assert metrics.citation_precision == 0.0 and metrics.false_refusal == 0.25
    assert metrics.refusal_recall == 0.0 and metrics.fact_match == 0.25
    assert metrics.verified_rate == 0.0  # answered: 4, none with all citations verified

    # SQuAD-style gold: the cited chunk must hold the gold paragraph, not only be of its
    # document; the sentence-level figure asks that the cited sentence itself overlaps it.
    squad = QA("q", ("a",), ("p.txt",), evidence=((100, 200),))
    inside = _outcome(squad, "a [1]", cited=((_evidence("p.txt", 150, 180), True),))
    outside = _outcome(squad, "a [1]", cited=((_evidence("p.txt", 0, 90), True),))
    holding = [replace(o, gold_chunks=frozenset({"c"})) for o in (inside, outside)]
    metrics = score(holding, INSTRUCTIONS)
    assert metrics.citation_precision == 1.0 and metrics.citation_precision_sentence == 0.5
    elsewhere = [replace(o, gold_chunks=frozenset({"other"})) for o in (inside, outside)]
    assert score(elsewhere, INSTRUCTIONS).citation_precision == 0.0


def test_bad_questions_files_name_file_line_and_field(tmp_path, docs_folder):
    cases = [
        (['{"question": "q", "answers": [], "documents": []}', "{not json"], ":2: not valid JSON"),
        (
            [{"question": "q", "answers": ["a"], "documents": ["nope.md"]}],
            ":1: documents: 'nope.md' is not a file",
        ),
        ([{"question": "", "answers": [], "documents": []}], ":1: question: expected"),
        ([{"question": "q", "answers": "a", "documents": []}], ":1: answers: expected a list"),
        ([{"question": "q", "answers": [], "documents": [], "extra": 1}], ":1: unknown field"),
    ]
    for rows, message in cases:
        path = write_questions(tmp_path / "bad.jsonl", rows)
        with pytest.raises(ValueError, match=f"bad.jsonl{message}"):
            read_kb(docs_folder, path)
    with pytest.raises(ValueError, match="unknown arm 'rag'"):
        parse_arms("base,rag")


def test_cli_bad_input_writes_nothing(tmp_path, docs_folder):
    from typer.testing import CliRunner

    from hybrid.cli import app

    path = write_questions(tmp_path / "bad.jsonl", [QUESTIONS[0], "[1, 2]"])
    output = tmp_path / "grid.json"
    result = CliRunner().invoke(
        app,
        [
            "--index-dir",
            str(tmp_path / "idx"),
            "eval",
            "answers",
            "--docs",
            str(docs_folder),
            "--questions",
            str(path),
            "--output",
            str(output),
        ],
    )
    assert result.exit_code != 0
    assert "bad.jsonl:2: expected an object" in str(result.exception)
    assert not output.exists() and not (tmp_path / "idx").exists()


RESULTS = Path(__file__).resolve().parents[2] / "evals" / "results"


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("answers-", GridResult),
        ("retrieval-", RetrievalResult),
        ("redaction-", RedactionResult),
        ("drafts-", DraftsResult),
        ("triage", TriageResult),
        ("clauses", ClausesResult),
    ],
)
def test_every_committed_result_reads_as_its_model(prefix, kind):
    # The README quotes these files: a writer that drifts from its model breaks this test.
    files = sorted(RESULTS.glob(f"{prefix}*.json"))
    assert files, f"no committed {prefix}*.json under {RESULTS}"
    for path in files:
        assert isinstance(read(kind, path), kind)


def test_a_result_file_that_is_not_one_names_the_field(tmp_path):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({"arms": {}, "n": "many", "answerable": 0, "unanswerable": 0}))
    with pytest.raises(ValueError, match=r"grid\.json: n: Input should be a valid integer"):
        read(GridResult, path)
