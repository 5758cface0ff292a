"""Training the clause model on labelled clause texts; CUAD's CSV read by contract."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from hybrid.behaviour.clauses import best_threshold, max_flags, train_clause_model
from hybrid.config import CUAD_TYPES
from hybrid.datasets import cuad
from hybrid.models.clauses import ClauseModel
from tests.clause_data import TYPES, texts


def _csv(path, rows: list[dict[str, str]]):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["Filename", *CUAD_TYPES])
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "[]") for c in ["Filename", *CUAD_TYPES]})
    return path


def test_a_text_keeps_all_its_categories_and_contracts_never_straddle_the_split(tmp_path):
    shared = "The liability of either party shall not exceed the fees paid in twelve months."
    rows = [
        {
            "Filename": f"Contract{i}.pdf",
            "Governing Law": f"['This Agreement is governed by the laws of State {i}.']",
            "Cap On Liability": f"[{shared!r}]",
            "Uncapped Liability": f"[{shared!r}, 'Nevada']",  # 'Nevada': under four words
        }
        for i in range(40)
    ]
    found = cuad.clause_texts(cuad.read_rows(_csv(tmp_path / "cuad.csv", rows)))
    assert len(found) == 80  # per contract: the law, and the shared text once
    both = [t for t in found if t.text == shared]
    assert {t.types for t in both} == {frozenset({"Cap On Liability", "Uncapped Liability"})}
    train, test = cuad.split_contracts(found, 0.25, 0, exclude={"contract7"})
    train_c, test_c = {t.contract for t in train}, {t.contract for t in test}
    assert not train_c & test_c and "Contract7.pdf" not in train_c | test_c
    assert 4 <= len(test_c) <= 16 and len(train_c) + len(test_c) == 39


def test_a_csv_that_is_not_cuads_names_the_missing_column(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("Filename,Governing Law\nx.pdf,[]\n")
    with pytest.raises(ValueError, match=r"other\.csv: not CUAD.*Document Name"):
        cuad.read_rows(path)


def test_thresholds_and_flag_caps_come_from_the_data():
    gold = np.array([1, 1, 0, 0, 0], dtype=bool)
    assert best_threshold(gold, np.array([0.9, 0.6, 0.5, 0.1, 0.2])) == (0.55, 1.0)
    assert best_threshold(np.zeros(3, dtype=bool), np.zeros(3)) == (0.5, 0.0)
    many = [cuad.ClauseText("a", f"clause {i}", frozenset({"Audit Rights"})) for i in range(6)]
    one = [cuad.ClauseText(c, "law", frozenset({"Governing Law"})) for c in "abcdefghij"]
    assert max_flags([*many, *one], ["Audit Rights", "Governing Law", "Non-Compete"]) == [6, 1, 1]


@pytest.mark.integration
def test_the_trained_model_separates_types_and_reloads_the_same(tmp_path, embedder):
    data = texts()
    train, validation = data[::2] + data[1::4], data[3::4]
    model = train_clause_model(train, validation, TYPES, embedder, progress=False)
    assert model.trained["C"] in (4.0, 16.0, 64.0) and set(model.trained["validation_f1"]) == set(
        TYPES
    )
    probe = [
        "This Agreement is governed by the laws of the State of Maine.",
        "The Reseller may not assign this Agreement without the consent of the other party.",
        "Payment is due within 60 days of the invoice date.",
    ]
    vectors = embedder.embed(probe)
    probs = model.probabilities(probe, vectors)
    assert probs.shape == (3, 3)
    assert probs[0].argmax() == 0 and probs[1].argmax() == 1
    assert probs[0, 0] >= model.thresholds[0] and probs[2].max() < 0.5
    again = ClauseModel.load(model.save(tmp_path / "clauses"))
    assert again.types == TYPES and again.max_flags == model.max_flags
    np.testing.assert_allclose(again.probabilities(probe, vectors), probs, atol=2e-3)
    np.testing.assert_array_equal(again.thresholds, model.thresholds)


def test_training_refuses_a_type_no_clause_has(embedder):
    with pytest.raises(ValueError, match="no training clause.*Non-Compete"):
        train_clause_model(texts(), [], ["Governing Law", "Non-Compete"], embedder, progress=False)


def test_a_folder_without_a_model_says_how_to_train_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="hybrid eval clauses"):
        ClauseModel.load(tmp_path)
