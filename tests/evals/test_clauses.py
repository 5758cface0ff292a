"""`hybrid eval clauses`: the page scores on hand-made cases, the aggregate figures, and the
command end to end on a tiny CUAD-shaped CSV and a generated contract PDF."""

from __future__ import annotations

import json

import pytest
import yaml

from hybrid.answer.clauses import ClauseReport, Flag
from hybrid.config import CUAD_TYPES, ClausesConfig, ClauseType
from hybrid.evals import clauses as evaluation
from hybrid.evals.results import ClausesResult, read
from hybrid.models.clauses import ClauseModel
from tests.clause_data import CONTRACT, TYPES, pdf, write_cuad

LAW = (
    "This Agreement shall be governed by and construed in accordance with the laws of the State "
    "of Vermont, without regard to its conflict of laws rules."
)
ASSIGN = (
    "The Distributor may not assign or transfer this Agreement or any of its rights hereunder "
    "without the prior written consent of the other party."
)


class ScriptedFlagger:
    """Stands in for the clause model so that the scores are checked against flags chosen by
    hand (the model's own flags are tested in tests/answer/test_clauses.py)."""

    def __init__(self, flags: list[Flag]):
        self.config = ClausesConfig(types={t: ClauseType() for t in TYPES})
        self.flags = flags

    def flag(self, doc) -> ClauseReport:
        return ClauseReport(doc.doc_id, doc.n_pages, 10, tuple(TYPES), tuple(self.flags))


def _flag(kind: str, page: int) -> Flag:
    return Flag(kind, "low", 0.9, page, 0, 10, "quoted text", "quoted")


def _row(name: str) -> dict[str, str]:
    row = {c: "[]" for c in CUAD_TYPES} | {"Filename": name}
    return row | {"Governing Law": repr([LAW]), "Anti-Assignment": repr([ASSIGN])}


def test_page_scores_count_found_clauses_and_false_pages(tmp_path):
    (tmp_path / "Supply.pdf").write_bytes(pdf(CONTRACT))
    (tmp_path / "unlabelled.pdf").write_bytes(pdf(["Not a contract CUAD labels."]))
    # The law is on page 1 (found there, and falsely on page 2); the assignment clause on page 2
    # gets no flag; Audit Rights has no clause, and one flag on page 1.
    flagger = ScriptedFlagger([_flag("Governing Law", 1), _flag("Governing Law", 2),
                               _flag("Audit Rights", 1)])  # fmt: skip
    per, totals = evaluation.on_pdfs(flagger, [_row("supply.PDF")], sorted(tmp_path.glob("*.pdf")))
    assert per["Governing Law"] == {"clauses": 1, "found": 1, "false_pages": 1}
    assert per["Anti-Assignment"] == {"clauses": 1, "found": 0, "false_pages": 0}
    assert per["Audit Rights"] == {"clauses": 0, "found": 0, "false_pages": 1}
    assert totals["contracts"] == 1 and totals["pages"] == 2 and totals["flags"] == 3
    assert totals["quoted"] == 3
    # The aggregate: 1 of 2 clauses found; 2 false pages over 3 types of one contract.
    model = ClauseModel(TYPES, [0.5] * 3, [1] * 3, None, None, {}, "e", {"train_texts": 9})
    scores = {t: {"support": 2, "precision": 1.0, "recall": 0.5, "f1": f, "baseline_f1": 0.5}
              for t, f in zip(TYPES, (1.0, 0.5, 0.0), strict=True)}  # fmt: skip
    found = evaluation.result(tmp_path, model, [], 0, scores, per, totals)
    assert found.macro_f1 == 0.5 and found.pdf_found_share == 0.5
    assert found.false_pages_per_contract_type == pytest.approx(0.667, abs=1e-3)
    assert found.flags_quoted_share == 1.0 and found.train_texts == 9


@pytest.mark.integration
def test_eval_clauses_trains_scores_and_writes_the_model_json_and_chart(tmp_path):
    from typer.testing import CliRunner

    from hybrid.cli import app

    data = write_cuad(tmp_path / "cuad.csv", (_row("Supply.pdf"),))
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    (pdfs / "Supply.pdf").write_bytes(pdf(CONTRACT))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        yaml.safe_dump({"clauses": {"types": {t: {} for t in TYPES}}}, sort_keys=False)
    )
    output, model = tmp_path / "out" / "clauses.json", tmp_path / "model"
    result = CliRunner().invoke(
        app,
        ["-c", str(recipe), "eval", "clauses", "--data", str(data), "--pdfs", str(pdfs),
         "--model", str(model), "--output", str(output)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    found = read(ClausesResult, output)
    assert found.pdfs == 1 and [t.type for t in found.types] == TYPES
    assert found.held_out_contracts > 0 and found.train_contracts > found.held_out_contracts
    law = found.types[0]
    assert law.pdf_clauses == 1 and law.pdf_found == 1 and law.f1 > 0.8
    assert output.with_suffix(".png").stat().st_size > 10_000
    assert ClauseModel.load(model).types == TYPES
    card = json.loads((model / "card.json").read_text())
    assert card["name"] == "clauses" and card["held_out_split"] == {"share": 0.2, "seed": 0}
    assert "macro-F1" in result.output
    bad = CliRunner().invoke(
        app, ["eval", "clauses", "--data", str(data), "--pdfs", str(tmp_path / "none")]
    )
    assert bad.exit_code != 0 and "--pdfs" in str(bad.exception)
