"""The promotion gate: thresholds on hand-made figures, the card's record, and `hybrid adapters
promote | history | rollback` end to end on a tiny model (refused, accepted, forced, rolled
back)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from hybrid.cli import app
from hybrid.config import (
    CLAUSE_METRICS,
    GRID_METRICS,
    TRIAGE_METRICS,
    ClausesGate,
    PromotionGate,
    TriageGate,
    parse_config,
)
from hybrid.evals import triage
from hybrid.evals.promotion import PromotionRefused, misses, promote
from hybrid.evals.results import ArmScores, ClausesResult, TriageArm
from hybrid.models.promotions import Promotions
from tests.clause_data import CONTRACT, TYPES, pdf, write_cuad
from tests.evals.test_answers import QUESTIONS, tiny_adapter, write_questions  # noqa: F401
from tests.evals.test_clauses import _row


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
    # The metrics a gate may bound are its eval's, named once in config (below evals).
    assert set(GRID_METRICS) == set(ArmScores.model_fields)
    assert set(TRIAGE_METRICS) < set(TriageArm.model_fields)
    assert set(CLAUSE_METRICS) < set(ClausesResult.model_fields)
    with pytest.raises(ValueError, match="unknown metric 'fact_match'"):
        TriageGate(data=tmp_path, min={"fact_match": 0.5})
    with pytest.raises(ValueError, match="unknown metric 'intent_macro_f1'"):
        ClausesGate(data=tmp_path, min={"intent_macro_f1": 0.5})
    with pytest.raises(ValueError, match="routes.clauses: the name is reserved"):
        parse_config({"routes": {"clauses": {}}})


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


# Tickets as customers write them (not Bitext's templates), in three of Bitext's intents.
TICKETS = {
    "track_order": [
        "where is my order? I have been waiting for a week",
        "can you tell me where my package is",
        "I want to track my order",
        "how can I check the status of my order",
        "I need to know where my parcel is right now",
        "could you help me track the order I placed",
        "what is the current status of my purchase",
        "has my order been shipped yet",
        "I would like to see the tracking of my order",
        "help me locate my order",
        "I ordered last Monday, where is it now?",
        "track order status please",
    ],
    "get_refund": [
        "I want a refund for my purchase",
        "how do I get my money back",
        "I need to request a refund",
        "can I have a refund for the broken item",
        "please refund the amount I paid",
        "I would like to get reimbursed for my order",
        "help me get a refund",
        "I want to claim my money back for this product",
        "how can I obtain a refund",
        "refund my payment please, the item never worked",
        "I am asking for a refund of my last purchase",
        "I'd like my money returned",
    ],
    "delete_account": [
        "I want to delete my account",
        "how can I close my account permanently",
        "please remove my account and all my data",
        "I need to cancel my user account",
        "help me delete my profile",
        "how do I terminate my account",
        "I would like to have my account deleted",
        "can you close my account",
        "I want to get rid of my account",
        "delete my user profile please",
        "how to remove my account from your site",
        "I wish to deactivate and delete my account",
    ],
}

CATEGORY = {"track_order": "ORDER", "get_refund": "REFUND", "delete_account": "ACCOUNT"}


def _task_recipe(path, index: Path, section: str, body: dict) -> str:
    path.write_text(yaml.safe_dump({"index_dir": str(index), section: body}))
    return str(path)


@pytest.mark.integration
def test_the_clauses_gate_scores_held_out_contracts_refuses_and_rolls_back(tmp_path):
    data = write_cuad(tmp_path / "cuad.csv", (_row("Supply.pdf"),))
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    (pdfs / "Supply.PDF").write_bytes(pdf(CONTRACT))  # CUAD's own spelling of the suffix
    run = CliRunner().invoke
    trained = tmp_path / "a"
    done = run(app, ["-c", _task_recipe(tmp_path / "r.yaml", tmp_path / "idx", "clauses",
                                        {"types": {t: {} for t in TYPES}}),
                     "eval", "clauses", "--data", str(data), "--pdfs", str(pdfs),
                     "--model", str(trained), "--output", str(tmp_path / "out.json")])  # fmt: skip
    assert done.exit_code == 0, done.output + repr(done.exception)
    blind = tmp_path / "b"  # the same model, but every threshold out of reach: flags nothing
    shutil.copytree(trained, blind)
    meta = json.loads((blind / "clauses.json").read_text())
    (blind / "clauses.json").write_text(json.dumps(meta | {"thresholds": [0.9999] * 3}))

    def recipe(name: str, **gate) -> str:
        body = {"data": str(data), "pdfs": str(pdfs), "min": {"macro_f1": 0.5}} | gate
        section = {"types": {t: {} for t in TYPES}, "promotion": body}
        return _task_recipe(tmp_path / name, tmp_path / "idx", "clauses", section)

    gate = recipe("gate.yaml", max={"false_pages_per_contract_type": 1.0})
    done = run(app, ["-c", gate, "adapters", "promote", str(trained), "--route", "clauses"])
    assert done.exit_code == 0, done.output + repr(done.exception)
    log = Promotions(tmp_path / "idx.promotions.jsonl")
    figures = log.current("clauses").figures
    assert figures["macro_f1"] >= 0.5 and figures["pdfs"] == 1 and figures["n"] > 0
    assert figures["pdf_found_share"] == 1.0  # the PDF's two clauses, each on its page
    refused = run(app, ["-c", gate, "adapters", "promote", str(blind), "--route", "clauses"])
    assert refused.exit_code != 0 and "macro_f1 0.000 < 0.5" in str(refused.exception)
    forced = run(app, ["-c", gate, "adapters", "promote", str(blind), "--route", "clauses",
                       "--force", "flag nothing while counsel reviews"])  # fmt: skip
    assert forced.exit_code == 0 and log.current("clauses").path == str(blind)
    shown = run(app, ["-c", gate, "adapters", "history"], env={"COLUMNS": "250"})
    assert "macro_f1 0." in shown.output and f"clauses: serves {blind}" in shown.output
    back = run(app, ["-c", gate, "adapters", "rollback", "--route", "clauses"])
    assert back.exit_code == 0 and log.current("clauses").path == str(trained)
    # Measured only on contracts it never trained on: another split is refused...
    other = run(app, ["-c", recipe("o.yaml", held_out=0.3), "adapters", "promote",
                      str(trained), "--route", "clauses"])  # fmt: skip
    assert "held_out 0.3 / seed 0 is not the split" in str(other.exception)
    card = json.loads((blind / "card.json").read_text())
    (blind / "card.json").write_text(json.dumps(card | {"held_out_split": None}))
    unknown = run(app, ["-c", gate, "adapters", "promote", str(blind), "--route", "clauses"])
    assert "does not record the split" in str(unknown.exception)
    missing = run(app, ["-c", gate, "adapters", "promote", "nowhere", "--route", "clauses"])
    assert "is not a folder" in str(missing.exception)
    # ... and without PDFs, a bound on a PDF figure misses rather than passing on nothing.
    no_pdfs = recipe("n.yaml", pdfs=None, min={"pdf_found_share": 0.5})
    blank = run(app, ["-c", no_pdfs, "adapters", "promote", str(trained), "--route", "clauses"])
    assert "pdf_found_share not measured" in str(blank.exception)


@pytest.mark.integration
def test_the_triage_gate_scores_the_shipped_classifier_on_held_out_tickets(tmp_path):
    data = tmp_path / "tickets.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instruction", "intent", "category"])
        writer.writerows((t, i, CATEGORY[i]) for i, texts in TICKETS.items() for t in texts)
    shipped = Path(__file__).resolve().parents[2] / "hybrid" / "adapters" / "triage"
    folder = tmp_path / "triage"
    shutil.copytree(shipped, folder)  # the card gets the promotion: not the package's own

    def recipe(name: str, **bounds) -> str:
        body = {"classifier": str(folder), "route": None,
                "promotion": {"data": str(data), **bounds}}  # fmt: skip
        return _task_recipe(tmp_path / name, tmp_path / "idx", "triage", body)

    run = CliRunner().invoke
    lenient = recipe("l.yaml", min={"accuracy": 0.5}, max={"latency_p50_ms": 5_000})
    done = run(app, ["-c", lenient, "adapters", "promote", str(folder), "--route", "triage"])
    assert done.exit_code == 0, done.output + repr(done.exception)
    promoted = Promotions(tmp_path / "idx.promotions.jsonl").current("triage")
    held_out = triage.split(triage.read_bitext(data), 0.15, seed=0)[1]  # the card's split
    assert promoted.figures["n"] == len(held_out) > 0 and promoted.figures["accuracy"] >= 0.5
    card = json.loads((folder / "card.json").read_text())
    assert card["promotions"][-1]["figures"] == promoted.figures
    strict = recipe("s.yaml", max={"latency_p50_ms": 0.001})
    refused = run(app, ["-c", strict, "adapters", "promote", str(folder), "--route", "triage"])
    assert "latency_p50_ms" in str(refused.exception) and "> 0.001" in str(refused.exception)
    bare = _task_recipe(tmp_path / "b.yaml", tmp_path / "idx", "clauses", {})
    none = run(app, ["-c", bare, "adapters", "promote", str(folder), "--route", "triage"])
    assert "the recipe has no triage: section" in str(none.exception)
