"""In-process API tests on a scripted engine (``fake_engine.py``): the routes' shapes, citations
and overrides in milliseconds. The real model answers over real HTTP in ``test_api.py``."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from hybrid.knowledge.sync import sync_folder
from hybrid.serve.app import create_app
from hybrid.serve.responses import ChatCompletion, CollectionInfo, Draft, Verification
from tests.conftest import THREE_DOCS, make_config, write_docs
from tests.serve.fake_engine import FakeEngine

REFUND = "How long do I have to return a sale item?"


@pytest.fixture
def api(tmp_path, embedder):
    config = make_config(
        tmp_path,
        routes={
            "support": {"collections": ["shop"]},
            "legal": {"collections": ["shop"], "draft_template": "prompts/legal_draft.j2"},
        },
    )
    sync_folder("shop", write_docs(tmp_path / "docs", THREE_DOCS), config.knowledge, embedder)
    engine = FakeEngine(adapters=("answerer",))
    with TestClient(create_app(config, engine, embedder)) as client:
        yield client, engine


def ask(question: str, **extra) -> dict:
    return {"model": "support", "messages": [{"role": "user", "content": question}], **extra}


def test_chat_answer_cites_and_verifies_the_sentence_it_quotes(api):
    client, engine = api
    reply = client.post("/v1/chat/completions", json=ask(REFUND))
    assert reply.status_code == 200, reply.text
    body = ChatCompletion.model_validate(reply.json())
    assert "14 days" in body.choices[0].message.content
    [citation] = body.citations
    assert citation["document"] == "refunds.md" and citation["verified"]
    assert citation["label"] == "quoted" and citation["origin"] == "model"
    assert body.retrieval.sources[0].document == "refunds.md"
    usage = body.usage
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens == engine.count_tokens(engine.asked[-1][0])


def test_streamed_answer_ends_with_its_citations(api):
    client, _ = api
    reply = client.post("/v1/chat/completions", json=ask(REFUND, stream=True))
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    final = json.loads(events[-2])
    assert final["citations"][0]["document"] == "refunds.md" and final["citations"][0]["verified"]
    streamed = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert "14 days" in streamed


def test_overrides_reach_the_engine(api):
    client, engine = api
    reply = client.post("/v1/chat/completions", json=ask(REFUND, temperature=0.5, adapter="base"))
    assert reply.status_code == 200, reply.text
    _, settings, adapter = engine.asked[-1]
    assert settings.temperature == 0.5 and adapter is None
    bad = client.post("/v1/chat/completions", json=ask(REFUND, adapter="nope"))
    assert bad.status_code == 400 and "adapter" in bad.text


def test_unanswerable_question_is_refused_without_generating(api):
    client, engine = api
    reply = client.post("/v1/chat/completions", json=ask("Who painted the Mona Lisa?"))
    body = ChatCompletion.model_validate(reply.json())
    assert body.retrieval.refused and not body.citations and not engine.asked


def test_drafts_verify_and_collections_match_their_response_models(api):
    client, _ = api
    draft = client.post("/v1/drafts", json={"route": "legal", "instruction": REFUND})
    assert draft.status_code == 200, draft.text
    Draft.model_validate(draft.json())
    checked = client.post(
        "/v1/verify",
        json={
            "route": "legal",
            "text": "Sale items can be returned within 30 days.",
            "collections": ["shop"],
        },
    )
    assert checked.status_code == 200, checked.text
    assert Verification.model_validate(checked.json()).sentences[0].label == "contradicted"
    info = CollectionInfo.model_validate(client.get("/v1/collections/shop").json())
    assert {d.document for d in info.documents} == set(THREE_DOCS)


def test_every_route_documents_its_response(api):
    client, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        ("/v1/chat/completions", "post"): "ChatCompletion",
        ("/v1/models", "get"): "ModelList",
        ("/v1/drafts", "post"): "Draft",
        ("/v1/verify", "post"): "Verification",
        ("/v1/collections", "get"): "CollectionList",
        ("/v1/collections/{collection}", "get"): "CollectionInfo",
        ("/v1/collections/{collection}/documents/{path}", "put"): "Uploaded",
        ("/v1/collections/{collection}/documents/{path}", "delete"): "Deleted",
        ("/healthz", "get"): "Health",
    }
    for (path, method), model in expected.items():
        ok = paths[path][method]["responses"].get("200") or paths[path][method]["responses"]["201"]
        assert json.dumps(ok).count(f"#/components/schemas/{model}") >= 1, (path, method)


def test_retrieval_preview_shows_what_the_model_would_read(api):
    client, engine = api
    reply = client.post("/v1/retrieve", json={"question": REFUND, "route": "support"})
    assert reply.status_code == 200, reply.text
    preview = reply.json()
    assert not preview["refused"] and preview["hits"][0]["document"] == "refunds.md"
    assert "14 days" in preview["hits"][0]["text"] and preview["hits"][0]["n"] == 1
    assert not engine.asked  # nothing generated
    off = client.post("/v1/retrieve", json={"question": "Who painted the Mona Lisa?"})
    assert off.json()["refused"]
    blank = client.post("/v1/retrieve", json={"question": "  "})
    assert blank.status_code == 422 and "question" in blank.text


def test_collection_info_carries_the_last_sync_report(api, tmp_path):
    client, _ = api
    sync = client.get("/v1/collections/shop").json()["sync"]
    assert sorted(sync["added"]) == sorted(THREE_DOCS) and sync["failed"] == {}
    put = client.put("/v1/collections/shop/documents/gifts.md", content=b"Gift cards never expire.")
    assert put.status_code == 201
    sync = client.get("/v1/collections/shop").json()["sync"]
    assert sync["added"] == ["gifts.md"] and not sync["updated"]
    assert client.get("/owners").text.startswith("<!doctype html>")
    [answerer] = client.get("/v1/adapters").json()["adapters"]  # the shipped one
    assert answerer["name"] == "answerer" and len(answerer["staleness"]) == 3  # RAFT sources
    assert all("not in" in s["note"] for s in answerer["staleness"])  # not in this index
