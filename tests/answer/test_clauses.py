"""Risky-clause flags on a contract: pages, offsets, verbatim quotes the verifier labels, the
cap on flags per type, config errors at load; and the shipped model on real CUAD PDFs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hybrid.answer.clauses import ClauseFlagger, passages
from hybrid.config import ClausesConfig, ClauseType, EmbedderConfig, IngestConfig
from hybrid.datasets.cuad import listed, read_rows, stem
from hybrid.knowledge import store
from hybrid.knowledge.loaders import load_bytes, read_file
from hybrid.knowledge.sync import sync_folder
from tests.clause_data import CONTRACT, TYPES, pdf, tiny_model
from tests.conftest import CONTRACTS, SHARED, make_config, require_shared, write_docs

RISKS = {"Governing Law": "low", "Anti-Assignment": "medium", "Audit Rights": "high"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("clauses")
    tiny_model(folder, embedder)
    return folder


def _config(model_dir, **types: ClauseType) -> ClausesConfig:
    chosen = types or {t: ClauseType(risk=r) for t, r in RISKS.items()}
    return ClausesConfig(model=model_dir, types=chosen)


def test_flags_carry_page_offsets_risk_and_a_quoted_verbatim_quote(model_dir, embedder):
    doc = load_bytes(pdf(CONTRACT), "supply.pdf", IngestConfig())
    report = ClauseFlagger.load(_config(model_dir), embedder).flag(doc)
    assert report.pages == 2 and report.types == tuple(TYPES)
    assert report.passages == len(passages(doc)) >= 4
    law, assign = report.found("Governing Law"), report.found("Anti-Assignment")
    assert len(law) == 1 and law[0].page == 1 and "Vermont" in law[0].quote
    assert len(assign) == 1 and assign[0].page == 2 and "may not assign" in assign[0].quote
    assert not report.found("Audit Rights")
    for flag in report.flags:
        assert flag.quote == doc.text[flag.char_start : flag.char_end]
        assert flag.label == "quoted" and flag.risk == RISKS[flag.type]
        assert 0 < flag.confidence <= 1
    # The law's two lines are one sentence, so one flag; delivery and invoices are not flagged.
    assert "deliver" not in " ".join(f.quote for f in report.flags)


def test_a_type_keeps_only_its_most_confident_flags(model_dir, embedder):
    pages = [
        "This Agreement shall be governed by the laws of the State of Maine.",
        "This Agreement shall be governed by and construed in accordance with the laws of\n"
        "the State of Oregon, without regard to its conflict of laws rules.",
        "This Agreement shall be governed by the laws of the State of Iowa.",
    ]
    doc = load_bytes(pdf(pages), "laws.pdf", IngestConfig())
    every = ClauseFlagger.load(
        _config(model_dir, **{"Governing Law": ClauseType(max_flags=5)}), embedder
    ).flag(doc)
    assert [f.page for f in every.flags] == [1, 2, 3]
    best = max(every.flags, key=lambda f: f.confidence)
    one = ClauseFlagger.load(
        _config(model_dir, **{"Governing Law": ClauseType(max_flags=1)}), embedder
    ).flag(doc)
    assert [(f.page, f.confidence) for f in one.flags] == [(best.page, best.confidence)]


def test_config_errors_name_the_type_at_load(model_dir, embedder):
    with pytest.raises(ValidationError, match="unknown clause type 'Uncaped Liability'"):
        ClausesConfig(types={"Uncaped Liability": ClauseType()})
    with pytest.raises(ValidationError, match="threshold"):
        ClauseType(threshold=1.5)
    # A CUAD type the model was not trained on: named when the server or CLI loads it.
    with pytest.raises(ValueError, match="clauses.types: 'Non-Compete' is not a type"):
        ClauseFlagger.load(_config(model_dir, **{"Non-Compete": ClauseType()}), embedder)
    other = type("Other", (), {"name": "embedded:other-model"})()
    with pytest.raises(ValueError, match="trained with the embedder"):
        ClauseFlagger.load(_config(model_dir), other)


@pytest.mark.integration
def test_a_collections_document_flags_as_its_file_does(tmp_path, model_dir, embedder):
    config = make_config(tmp_path)
    body = pdf(CONTRACT)
    sync_folder(
        "deals", write_docs(tmp_path / "d", {"supply.pdf": body}), config.knowledge, embedder
    )
    stored = store.read_document(store.collection_dir(config.index_dir, "deals"), "supply.pdf")
    direct = load_bytes(body, "supply.pdf", config.ingest)
    assert stored.page_starts == direct.page_starts and len(stored.text) == len(direct.text)
    flagger = ClauseFlagger.load(_config(model_dir), embedder)
    key = [(f.type, f.page, f.char_start, f.char_end) for f in flagger.flag(direct).flags]
    assert key and key == [
        (f.type, f.page, f.char_start, f.char_end) for f in flagger.flag(stored).flags
    ]
    with pytest.raises(KeyError):
        store.read_document(store.collection_dir(config.index_dir, "deals"), "other.pdf")


@pytest.mark.integration
def test_the_shipped_model_finds_a_real_contracts_clauses_on_their_pages(embedder):
    name = "HerImports_20161018_8-KA_EX-10.14_9765707_EX-10.14_Maintenance Agreement.pdf"
    path = require_shared(CONTRACTS / name)
    rows = read_rows(require_shared(SHARED / "contracts" / "cuad_master_clauses.csv"))
    row = next(r for r in rows if stem(r["Filename"]) == stem(name))
    assert EmbedderConfig().model == embedder.name
    doc = load_bytes(read_file(path, IngestConfig()), name, IngestConfig())
    report = ClauseFlagger.load(ClausesConfig(), embedder).flag(doc)
    law = report.found("Governing Law")
    assert law and all(f.label == "quoted" for f in report.flags)
    clause = listed(row["Governing Law"])[0]
    page_of = {f.page for f in law}
    starts = [*doc.page_starts, len(doc.text)]
    key = " ".join(clause.split()[:6]).lower()
    holding = [
        p + 1 for p in range(len(starts) - 1)
        if key in " ".join(doc.text[starts[p] : starts[p + 1]].split()).lower()
    ]  # fmt: skip
    assert holding and holding[0] in page_of
