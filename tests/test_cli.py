"""The CLI over real processes: help everywhere, exit codes, one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from hybrid.cli import app
from tests.conftest import REPO


def _all_commands(group: click.Command, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for name, command in getattr(group, "commands", {}).items():
        found += _all_commands(command, [*prefix, name])
    return found


COMMANDS = _all_commands(typer.main.get_command(app), [])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "hybrid")
def test_help_on_every_command(command):
    assert len(COMMANDS) >= 18  # every group and command is discovered
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def _hybrid(*args: str, index_dir: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("hybrid")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HYBRID_INDEX_DIR": str(index_dir)}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )


@pytest.mark.integration
def test_sync_list_show_search_remove(tmp_path, docs_folder):
    index_dir = tmp_path / "idx"
    (docs_folder / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    result = _hybrid("index", "sync", "shop", str(docs_folder), index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    assert "added 3" in result.stdout and "failed 1" in result.stdout
    assert "broken.pdf" in result.stdout and "corrupt PDF" in result.stdout
    again = _hybrid("index", "sync", "shop", str(docs_folder), index_dir=index_dir)
    assert "unchanged 3" in again.stdout and "chunks embedded 0" in again.stdout
    assert "shop" in _hybrid("index", "list", index_dir=index_dir).stdout
    show = json.loads(_hybrid("index", "show", "shop", "--json", index_dir=index_dir).stdout)
    assert {d["doc_id"] for d in show["documents"]} == {
        "refunds.md",
        "shipping.txt",
        "privacy.html",
    }
    found = _hybrid(
        "search",
        "shop",
        "express delivery cut-off",
        "--json",
        "-k",
        "2",
        "--mode",
        "bm25",
        index_dir=index_dir,
    )
    hits = json.loads(found.stdout)
    assert hits[0]["doc_id"] == "shipping.txt" and hits[0]["rank"] == 1
    table = _hybrid("search", "shop", "cookies", "--source", "*.html", index_dir=index_dir)
    assert "privacy.html" in table.stdout and table.returncode == 0
    draft = tmp_path / "draft.txt"
    draft.write_text(
        "Sale items can be returned within 30 days.\nStandard delivery takes 3-5 business days.\n"
    )
    checked = _hybrid("verify", "shop", str(draft), "--json", index_dir=index_dir)
    assert checked.returncode == 0, checked.stderr
    labels = [s["label"] for s in json.loads(checked.stdout)["sentences"]]
    assert labels == ["contradicted", "quoted"]  # 30 days vs 14; the shipping sentence
    table = _hybrid("verify", "shop", str(draft), index_dir=index_dir)
    assert "contradicted" in table.stdout and "refunds.md" in table.stdout
    missing = _hybrid("verify", "nope", str(draft), index_dir=index_dir)
    assert missing.returncode == 1 and "'nope' does not exist" in missing.stderr
    assert _hybrid("index", "remove", "shop", "--yes", index_dir=index_dir).returncode == 0
    assert _hybrid("index", "list", index_dir=index_dir).stdout.count("shop") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "missing", "query"], "no collection"),
        (["search", "bad/name", "query"], "collection name"),
        (["index", "sync", "c", "/nonexistent-folder"], "is not a folder"),
        (["search", "c", "q", "--pages", "x-y"], "--pages"),
        (["--config", "/nonexistent.yaml", "index", "list"], "cannot read config"),
    ],
)
def test_failures_exit_nonzero_with_one_line(tmp_path, args, message):
    if "--pages" in args:
        tmp_path.joinpath("d").mkdir()
    result = _hybrid(*args, index_dir=tmp_path / "idx")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and message in lines[-1], result.stderr


def test_bad_config_names_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("search:\n  top_k: 0\n")
    result = _hybrid("--config", str(bad), "index", "list", index_dir=tmp_path / "idx")
    assert result.returncode == 1 and "search.top_k" in result.stderr and "got 0" in result.stderr


@pytest.mark.integration
def test_redact_command_writes_data_report_and_private_mapping(tmp_path):
    source = tmp_path / "chat.jsonl"
    turns = [
        {"role": "user", "content": "Hi, I am Maria Garcia, mail maria.garcia@example.com"},
        {"role": "assistant", "content": "Thanks Maria Garcia, we will write to you."},
    ]
    source.write_text(json.dumps({"messages": turns}) + "\n")
    target = tmp_path / "out.jsonl"
    result = _hybrid("redact", str(source), str(target), "--reversible", index_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    messages = json.loads(target.read_text())["messages"]
    assert "<PERSON_1>" in messages[0]["content"] and "<PERSON_1>" in messages[1]["content"]
    assert "<EMAIL_ADDRESS_1>" in messages[0]["content"]
    assert "maria" not in target.read_text().lower()
    report = json.loads((tmp_path / "out.jsonl.report.json").read_text())
    assert report["counts"]["EMAIL_ADDRESS"] == 1
    mapping = tmp_path / "out.jsonl.mapping.json"
    assert mapping.stat().st_mode & 0o777 == 0o600 and "Maria Garcia" in mapping.read_text()


@pytest.mark.integration
def test_demo_indexes_samples_and_contracts_then_searches(tmp_path):
    from tests.conftest import CONTRACTS, require_shared

    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    name = "HerImports_20161018_8-KA_EX-10.14_9765707_EX-10.14_Maintenance Agreement.pdf"
    (pdfs / name).write_bytes((require_shared(CONTRACTS) / name).read_bytes())
    result = _hybrid("demo", "--no-serve", "--contracts", str(pdfs), index_dir=tmp_path / "idx")
    assert result.returncode == 0, result.stderr
    assert "acme-policies: 5 added" in result.stdout and "contracts: 1 added" in result.stdout
    assert "returns-policy.md" in result.stdout  # the sale-items answer
    assert "GOVERNING" in result.stdout or "governed" in result.stdout.lower()


@pytest.mark.integration
def test_clauses_flags_a_contract_with_the_shipped_model(tmp_path):
    from tests.clause_data import CONTRACT, pdf

    contract = tmp_path / "supply.pdf"
    contract.write_bytes(pdf(CONTRACT))
    result = CliRunner().invoke(app, ["clauses", str(contract), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stderr: the models' loading bars
    law = [f for f in report["flags"] if f["type"] == "Governing Law"]
    assert report["pages"] == 2 and len(report["types"]) == 12
    assert len(law) == 1 and law[0]["page"] == 1 and "Vermont" in law[0]["quote"]
    assert all(f["label"] == "quoted" for f in report["flags"])
    table = CliRunner().invoke(app, ["clauses", str(contract)])
    assert table.exit_code == 0 and "Governing Law" in table.output and "none found" in table.output
    off = tmp_path / "off.yaml"
    off.write_text("clauses: null\n")
    refused = CliRunner().invoke(app, ["-c", str(off), "clauses", str(contract)])
    assert refused.exit_code != 0 and "clauses: null" in str(refused.exception)
