"""The promotion gate: thresholds on hand-made figures, the card's record, and `hybrid adapters
promote | history | rollback` end to end on a tiny model (refused, accepted, forced, rolled
back)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
import yaml
from typer.testing import CliRunner

from hybrid.cli import app
from hybrid.config import GRID_METRICS, PromotionGate
from hybrid.evals.promotion import PromotionRefused, misses, promote
from hybrid.evals.results import ArmScores
from hybrid.models.promotions import Promotions
from tests.evals.test_answers import QUESTIONS, tiny_adapter, write_questions  # noqa: F401


def _gate(tmp_path, **bounds) -> PromotionGate:
    return PromotionGate(docs=tmp_path, questions=tmp_path / "q.jsonl", **bounds)


def test_thresholds_name_every_missed_figure(tmp_path):
    gate = _gate(tmp_path, min={"fact_match": 0.6, "refusal_recall": 0.8}, max={"echo_rate": 0.0})
    assert misses({"fact_match": 0.6, "refusal_recall": 0.9, "echo_rate": 0.0}, gate) == {}
    found = misses({"fact_match": 0.5, "refusal_recall": None, "echo_rate": 0.1}, gate)
    assert list(found.values()) == [
        "fact_match 0.500 < 0.6",
        "refusal_recall not measured (needs >= 0.8)",
        "echo_rate 0.100 > 0.0",
    ]
    with pytest.raises(ValueError, match="unknown metric 'fact'"):
        _gate(tmp_path, min={"fact": 0.5})
    with pytest.raises(ValueError, match="at least one threshold"):
        _gate(tmp_path)
    # The metrics a gate may bound are the grid's, named once in config (below evals).
    assert set(GRID_METRICS) == set(ArmScores.model_fields)


def test_a_refused_promotion_records_nothing_and_a_forced_one_its_reason(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"w")
    (folder / "card.json").write_text(json.dumps({"base_model": "m", "name": "a"}))
    log = Promotions(tmp_path / "p.jsonl")
    gate = _gate(tmp_path, min={"fact_match": 0.8})
    with pytest.raises(
        PromotionRefused, match=r"not promoted for route 'support': fact_match 0\.5"
    ):
        promote(log, "support", "a", folder, {"fact_match": 0.5}, gate)
    assert log.history() == [] and "promotions" not in json.loads(
        (folder / "card.json").read_text()
    )
    forced = promote(log, "support", "a", folder, {"fact_match": 0.5}, gate, force="demo day")
    assert (forced.action, forced.reason, forced.failed) == (
        "force",
        "demo day",
        ("fact_match 0.500 < 0.8",),
    )
    card = json.loads((folder / "card.json").read_text())
    assert card["name"] == "a" and card["promotions"][0]["figures"] == {"fact_match": 0.5}


@pytest.mark.integration
def test_promote_history_rollback_through_the_cli(tmp_path, docs_folder, tiny_llama, tiny_adapter):  # noqa: F811
    second = tmp_path / "second"
    shutil.copytree(tiny_adapter, second)
    from safetensors.torch import load_file, save_file

    weights = load_file(second / "adapter_model.safetensors")
    save_file({k: v + 0.01 * torch.ones_like(v) for k, v in weights.items()},
              second / "adapter_model.safetensors")  # fmt: skip
    questions = write_questions(tmp_path / "q.jsonl", QUESTIONS)

    def recipe(path, **bounds):
        path.write_text(yaml.safe_dump({
            "index_dir": str(tmp_path / "idx"),
            # As a deployment would have it: measuring must not need a promotion already.
            "serve": {"require_promotion": True},
            "chunking": {"unit": "chars", "size": 300, "overlap": 50},
            "runtime": {"base_model": str(tiny_llama), "dtype": "fp32", "device": "cpu",
                        "adapters": {"first": str(tiny_adapter), "second": str(second)}},
            "routes": {"support": {
                "adapter": "first", "generation": {"max_new_tokens": 8}, "min_similarity": 0.2,
                "promotion": {"docs": str(docs_folder), "questions": str(questions), **bounds}}},
        }))  # fmt: skip
        return str(path)

    lenient = recipe(tmp_path / "lenient.yaml", max={"prompt_tokens_mean": 10_000})
    strict = recipe(tmp_path / "strict.yaml", min={"fact_match": 0.99})
    run = CliRunner().invoke
    done = run(app, ["-c", lenient, "adapters", "promote", "first", "--route", "support"])
    assert done.exit_code == 0, done.output + repr(done.exception)
    assert "promote: first serves route support" in done.output
    refused = run(app, ["-c", strict, "adapters", "promote", "second", "--route", "support"])
    assert refused.exit_code != 0
    assert "fact_match 0.000 < 0.99" in str(refused.exception) and "missed" in refused.output
    log = Promotions(tmp_path / "idx.promotions.jsonl")
    assert [p.adapter for p in log.history()] == ["first"]
    forced = run(app, ["-c", strict, "adapters", "promote", "second", "--route", "support",
                       "--force", "the base answers nothing either"])  # fmt: skip
    assert forced.exit_code == 0 and log.current("support").adapter == "second"
    shown = run(app, ["-c", strict, "adapters", "history"], env={"COLUMNS": "220"})
    assert (
        "the base answers nothing either" in shown.output
        and "support: serves second" in shown.output
    )
    back = run(app, ["-c", strict, "adapters", "rollback", "--route", "support"])
    assert back.exit_code == 0 and log.current("support").adapter == "first"
    again = run(app, ["-c", strict, "adapters", "rollback", "--route", "support"])
    assert again.exit_code != 0 and "no earlier promoted adapter" in str(again.exception)
    unknown = run(app, ["-c", strict, "adapters", "promote", "third", "--route", "support"])
    assert "not in runtime.adapters" in str(unknown.exception)
