"""POST /v1/clauses in-process: a contract's bytes or a collection's document, the limits, and
who may ask (the legal role's `draft`)."""

from __future__ import annotations

import io

import pypdf
import pytest
from fastapi.testclient import TestClient

from hybrid.knowledge.sync import sync_folder
from hybrid.serve.app import create_app
from hybrid.serve.clauses import ClausesReply
from tests.clause_data import CONTRACT, TYPES, pdf, tiny_model
from tests.conftest import make_config, write_docs
from tests.serve.fake_engine import FakeEngine

KEYS = [
    {"name": "counsel", "role": "legal", "key": "legal-key", "collections": ["deals"]},
    {"name": "agent", "role": "agent", "key": "agent-key"},
]


def _blank_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)  # a scan without a text layer reads the same
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("clauses")
    tiny_model(folder, embedder)
    return folder


@pytest.fixture
def client(tmp_path, embedder, model_dir):
    config = make_config(
        tmp_path,
        clauses={"model": str(model_dir), "types": {t: {} for t in TYPES}},
        serve={"keys": KEYS, "limits": {"max_contract_chars": 5_000}},
    )
    docs = write_docs(tmp_path / "deals", {"supply.pdf": pdf(CONTRACT)})
    sync_folder("deals", docs, config.knowledge, embedder)
    sync_folder(
        "hr", write_docs(tmp_path / "hr", {"x.pdf": pdf(CONTRACT)}), config.knowledge, embedder
    )
    with TestClient(create_app(config, FakeEngine(), embedder)) as c:
        c.headers["Authorization"] = "Bearer legal-key"
        yield c


def test_a_contract_posted_or_indexed_gets_the_same_flags(client):
    posted = client.post("/v1/clauses?filename=supply.pdf", content=pdf(CONTRACT))
    assert posted.status_code == 200, posted.text
    body = ClausesReply.model_validate(posted.json())
    assert body.pages == 2 and body.types == TYPES and body.missing == ["Audit Rights"]
    assert [(f.type, f.page, f.label) for f in body.flags] == [
        ("Governing Law", 1, "quoted"),
        ("Anti-Assignment", 2, "quoted"),
    ]
    stored = client.post("/v1/clauses?collection=deals&document=supply.pdf")
    assert stored.status_code == 200, stored.text
    key = [(f["type"], f["page"], f["char_start"], f["char_end"]) for f in stored.json()["flags"]]
    assert key == [(f.type, f.page, f.char_start, f.char_end) for f in body.flags]


@pytest.mark.parametrize(
    ("query", "body", "status", "words"),
    [
        ("filename=scan.pdf", _blank_pdf(), 422, "no extractable text"),
        ("filename=long.txt", b"The parties agree. " * 400, 413, "max_contract_chars"),
        ("filename=a.pdf", b"", 400, "body: empty"),
        ("", b"x", 400, "filename= "),
        ("filename=a.pdf&collection=deals&document=a.pdf", b"x", 400, "filename= "),
        ("filename=../a.pdf", b"x", 400, "filename:"),
        ("filename=a.exe", b"x", 422, "unsupported extension"),
        ("collection=deals&document=none.pdf", b"", 404, "no document 'none.pdf'"),
        ("collection=nowhere&document=a.pdf", b"", 403, "may not access"),
        ("collection=hr&document=x.pdf", b"", 403, "may not access"),
    ],
)
def test_bad_input_names_the_field_and_the_server_keeps_serving(client, query, body, status, words):
    reply = client.post(f"/v1/clauses?{query}", content=body)
    assert reply.status_code == status and words in reply.json()["error"]["message"], reply.text
    assert client.post("/v1/clauses?filename=ok.pdf", content=pdf(CONTRACT)).status_code == 200


def test_clause_flags_need_the_draft_capability_and_a_recipe_key(client, tmp_path, embedder):
    agent = client.post(
        "/v1/clauses?filename=a.pdf",
        content=pdf(CONTRACT),
        headers={"Authorization": "Bearer agent-key"},
    )
    assert agent.status_code == 403 and "may not use draft" in agent.text
    with TestClient(
        create_app(make_config(tmp_path / "plain", clauses=None), FakeEngine(), embedder)
    ) as plain:
        off = plain.post("/v1/clauses?filename=a.pdf", content=pdf(CONTRACT))
        assert off.status_code == 404 and "clauses:" in off.text
