"""The API end to end: uvicorn in a subprocess, real HTTP, the embedded models, real PDFs."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.conftest import CONTRACTS
from tests.serve.conftest import KEYS, Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROYALTY = "What is the royalty rate in the content license agreement?"
GLU = "GluMobileInc_20070319_S-1A_EX-10.09_436630_EX-10.09_Content License Agreement2.pdf"


def ask(client: httpx.Client, route: str, question: str, **extra) -> httpx.Response:
    body = {"model": route, "messages": [{"role": "user", "content": question}], **extra}
    return client.post("/v1/chat/completions", json=body)


def pages_of(citation: dict) -> set[int]:
    first, _, last = (citation["pages"] or "").partition("-")
    return set(range(int(first), int(last or first) + 1)) if first else set()


def test_health_and_models_follow_the_key(server: Server):
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok" and health["routes"] is None  # keys: route names are private
    with server.client("agent") as client:
        models = client.get("/v1/models").json()["data"]
    assert sorted(m["id"] for m in models) == ["everything", "raw", "support"]
    assert {m["id"]: m["collections"] for m in models}["everything"] == ["acme-policies"]


def test_contract_answer_cites_the_document_and_page(server: Server):
    with server.client("legal") as client:
        response = ask(client, "legal", ROYALTY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "royalt" in body["choices"][0]["message"]["content"].lower()  # said or quoted
    cited = [
        c
        for c in body["citations"]
        if c["verified"] and any("royalt" in s["text"].lower() for s in c["sentences"])
    ]
    assert cited, body["citations"]
    assert cited[0]["document"] == GLU
    assert cited[0]["page"] == int(cited[0]["pages"].split("-")[0])
    # The snippet is the evidence sentence the model read; its chunk's pages hold it.
    snippet = " ".join(cited[0]["snippet"].replace("\xa0", " ").split())
    assert "royalt" in snippet.lower()
    from pypdf import PdfReader

    reader = PdfReader(CONTRACTS / GLU)
    text = " ".join(
        " ".join(reader.pages[p - 1].extract_text().replace("\xa0", " ").split())
        for p in sorted(pages_of(cited[0]))
    )
    assert snippet[:60] in text
    assert body["usage"]["prompt_tokens"] > 100 and body["usage"]["completion_tokens"] > 0
    assert body["retrieval"]["used"] == len(body["retrieval"]["sources"]) <= 4  # sentences


def test_an_answer_that_does_not_address_the_question_is_overruled(server: Server):
    question = "How long do I have to return a sale item?"
    with server.client() as client:
        answered = ask(client, "support", question).json()
        strict = ask(client, "strict", question).json()
    assert answered["retrieval"]["overruled"] != "off-topic" and answered["citations"]
    # Same answer, a bar it cannot clear; sentence [1] cannot either, so the route refuses
    # and says which check did it.
    assert strict["retrieval"]["overruled"] == "off-topic"
    assert strict["retrieval"]["refused"] is True and strict["retrieval"]["sources"]
    assert strict["choices"][0]["message"]["content"] == "The documents do not cover this question."
    assert strict["citations"] == []


def test_question_outside_the_documents_is_refused(server: Server):
    with server.client("agent") as client:
        body = ask(client, "support", "Who won the football world cup in 1998?").json()
    assert body["retrieval"]["refused"] is True
    # What no document mentions ("cup"; "football" is too common a word to name a missing thing).
    assert body["retrieval"]["unknown"] and set(body["retrieval"]["unknown"]) <= {"football", "cup"}
    assert body["choices"][0]["message"]["content"] == "The documents do not cover this question."
    assert body["citations"] == []


def test_upload_is_answered_from_then_delete_removes_it(server: Server):
    doc = (
        "# Gift cards\n\nAcme gift cards expire 36 months after purchase. Gift cards can be "
        "redeemed online and in our Lisbon store, and they cannot be exchanged for cash.\n"
    )
    question = "When do Acme gift cards expire?"
    with server.client("owner") as owner, server.client("agent") as agent:
        before = ask(agent, "support", question).json()
        assert "gift-cards.md" not in {s["document"] for s in before["retrieval"]["sources"]}

        put = owner.put("/v1/collections/acme-policies/documents/gift-cards.md", content=doc)
        assert put.status_code == 201, put.text
        assert put.json()["status"] == "added" and put.json()["chunks_embedded"] >= 1
        again = owner.put("/v1/collections/acme-policies/documents/gift-cards.md", content=doc)
        assert again.status_code == 200 and again.json()["status"] == "unchanged"
        listing = owner.get("/v1/collections/acme-policies").json()
        origins = {d["document"]: d["origin"] for d in listing["documents"]}
        assert origins["gift-cards.md"] == "api" and origins["returns-policy.md"] == "folder"

        after = ask(agent, "support", question).json()  # the next query sees it: no restart
        sources = {s["document"] for s in after["retrieval"]["sources"]}
        assert after["retrieval"]["refused"] is False and "gift-cards.md" in sources
        assert "36" in after["choices"][0]["message"]["content"]
        assert any(c["document"] == "gift-cards.md" for c in after["citations"])

        gone = owner.delete("/v1/collections/acme-policies/documents/gift-cards.md")
        assert gone.status_code == 200, gone.text
        final = ask(agent, "support", question).json()
        assert "gift-cards.md" not in {s["document"] for s in final["retrieval"]["sources"]}
        listing = owner.get("/v1/collections/acme-policies").json()
        assert "gift-cards.md" not in {d["document"] for d in listing["documents"]}
        missing = owner.delete("/v1/collections/acme-policies/documents/gift-cards.md")
        assert missing.status_code == 404


def test_acl_is_enforced_in_retrieval(server: Server):
    # The agent's key reads acme-policies only; route "everything" reads both collections.
    with server.client("agent") as agent, server.client("admin") as admin:
        mine = ask(agent, "everything", ROYALTY).json()
        theirs = ask(admin, "everything", ROYALTY).json()
        assert {s["collection"] for s in theirs["retrieval"]["sources"]} >= {"contracts"}
        assert {s["collection"] for s in mine["retrieval"]["sources"]} <= {"acme-policies"}
        assert all(c["collection"] == "acme-policies" for c in mine["citations"])
        assert "Guarantee Forfeiture" not in json.dumps(mine)

        explicit = ask(agent, "everything", ROYALTY, collections=["contracts"])
        assert explicit.status_code == 403 and "contracts" in explicit.json()["error"]["message"]
        other = ask(agent, "everything", ROYALTY, collections=["acme-policies", "nope"])
        message = other.json()["error"]["message"]  # names only what the key may read
        assert other.status_code == 400 and "acme-policies" in message
        assert "contracts" not in message
        assert ask(agent, "legal", ROYALTY).status_code == 403  # route not granted
        assert agent.post("/v1/drafts", json={"instruction": "x"}).status_code == 403
        upload = agent.put("/v1/collections/acme-policies/documents/x.md", content=b"# x\n\nx")
        assert upload.status_code == 403

    with server.client(None) as anonymous:
        missing = ask(anonymous, "support", "hi")
    assert missing.status_code == 401 and "API key" in missing.json()["error"]["message"]
    wrong = httpx.post(
        f"{server.url}/v1/chat/completions",
        headers={"Authorization": "Bearer nope"},
        json={"model": "support", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "invalid API key"
    with server.client("owner") as owner:
        other = owner.put("/v1/collections/contracts/documents/x.md", content=b"# x\n\nx")
    assert other.status_code == 403  # owner of acme-policies only


def test_openai_client_plain_and_streaming(server: Server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEYS["legal"], max_retries=0)
    assert "legal" in [m.id for m in client.models.list()]

    reply = client.chat.completions.create(
        model="legal",
        messages=[{"role": "user", "content": ROYALTY}],
        max_tokens=48,
        extra_body={"adapter": "base"},  # hybrid extension: the base model, adapters off
    )
    assert reply.model_extra["retrieval"]["adapter"] is None
    text = reply.choices[0].message.content
    assert "royalt" in text.lower() and reply.usage.completion_tokens <= 48
    assert any(c["document"] == GLU for c in reply.model_extra["citations"])

    stream = client.chat.completions.create(
        model="legal",
        messages=[{"role": "user", "content": ROYALTY}],
        max_tokens=48,
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas, citations, final, usage = [], None, None, None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            deltas.append(chunk.choices[0].delta.content)
        citations = (chunk.model_extra or {}).get("citations", citations)
        final = (chunk.model_extra or {}).get("final_text", final)
        usage = chunk.usage or usage
    assert len(deltas) > 3  # tokens arrived one by one, not as one block
    # Greedy: the same answer, streamed. The last chunk's final_text is the verified answer
    # (the route quotes the evidence where the model's sentence is unsupported).
    assert final == text
    assert "".join(deltas) == text or text.startswith('"')
    assert any(c["document"] == GLU for c in citations)
    assert usage.completion_tokens == reply.usage.completion_tokens


def test_drafts_have_footnotes_and_documents(server: Server):
    with server.client("legal") as client:
        response = client.post(
            "/v1/drafts",
            json={
                "instruction": "Summarise the royalty terms of the content license agreement.",
                "max_tokens": 48,
            },
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["footnotes"], body
    first = body["footnotes"][0]
    assert first["n"] == 1 and "[^1]" in body["draft"]
    assert first["label"].startswith(f"[^1]: {first['document']}, page ")
    assert any(
        d["document"] == first["document"] and d["collection"] == "contracts"
        for d in body["documents"]
    )
    assert body["retrieval"]["collections"] == ["contracts"]


@pytest.mark.parametrize(
    ("instruction", "document", "law", "page"),
    [
        (
            "Which law governs the agreement between Leader Act Ltd and EZJR?",
            "HerImports",
            "Nevada",
            3,
        ),
        (
            "Which law governs the agreement between CURO Management, LLC and CURO Receivables "
            "Finance II, LLC?",
            "CUROGROUP",
            "NEW YORK",
            7,
        ),
    ],
)
def test_a_legal_draft_quotes_the_governing_law_clause_on_its_page(
    server: Server, instruction: str, document: str, law: str, page: int
):
    # The shipped legal route: the parties name the contract, the draft opens with the clause.
    with server.client("legal") as client:
        response = client.post("/v1/drafts", json={"route": "counsel", "instruction": instruction})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d[: len(document)] for d in body["named_documents"]] == [document]
    first = body["points"][0]
    assert law in first["text"] and first["label"] == "quoted", body["draft"]
    note = body["footnotes"][first["footnotes"][0] - 1]
    assert note["verified"] and note["page"] == page and law in note["snippet"]
    texts = [" ".join(p["text"].strip('"').lower().split()) for p in body["points"]]
    assert len(set(texts)) == len(texts)  # no point repeats another


def test_a_legal_draft_refuses_when_the_contract_has_no_such_clause(server: Server):
    # The GluMobile PDF is an amendment without a governing-law clause: no law is invented.
    instruction = (
        "Summarise which law governs the GluMobile agreement and where disputes are resolved."
    )
    with server.client("legal") as client:
        response = client.post("/v1/drafts", json={"route": "counsel", "instruction": instruction})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refused"] and body["draft"] == "1. The documents do not cover this question."
    assert body["named_documents"] == [GLU] and body["usage"]["completion_tokens"] == 0


def test_verify_labels_a_draft_against_collections_the_key_may_read(server: Server):
    text = (
        "Sale items are refunded at the price you actually paid, not at the original price.\n"
        "Sale items are refunded at the original price.\n"
        "Standard delivery costs 9.95 EUR per order."
    )
    body = {"text": text, "collections": ["acme-policies"]}
    with server.client("admin") as admin:
        response = admin.post("/v1/verify", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    labels = [s["label"] for s in result["sentences"]]
    assert labels == ["quoted", "contradicted", "contradicted"], result
    evidence = result["sentences"][1]["evidence"]
    assert (
        evidence["document"] == "returns-policy.md" and "not at the original" in evidence["snippet"]
    )
    assert evidence["char_end"] - evidence["char_start"] == len(evidence["snippet"])
    assert result["summary"] == {"quoted": 1, "supported": 0, "contradicted": 2, "unsupported": 0}
    with server.client("agent") as agent, server.client("legal") as legal:
        assert agent.post("/v1/verify", json=body).status_code == 403  # role: legal and above
        denied = legal.post("/v1/verify", json=body)  # legal reads contracts only
        assert denied.status_code == 403 and "acme-policies" in denied.json()["error"]["message"]
        assert legal.post("/v1/verify", json={"collections": ["contracts"]}).status_code == 422
        blank = legal.post("/v1/verify", json={"text": " ", "collections": ["contracts"]})
        assert blank.status_code == 422 and "text" in blank.text
        none = legal.post("/v1/verify", json={"text": "x", "collections": []})
        assert none.status_code == 422 and "collections" in none.text
        empty = legal.post("/v1/verify", json={"text": "x", "collections": [""]})
        assert empty.status_code == 422 and "collections.0" in empty.text  # not a 500
        draft = legal.post("/v1/drafts", json={"instruction": "0", "collections": [""]})
        assert draft.status_code == 422 and "collections.0" in draft.text  # the fuzzer's 500


BAD_REQUESTS = [
    ("not json", b"{", 400, "not valid JSON"),
    ("wrong type", {"model": "support", "messages": [], "max_tokens": "lots"}, 422, "max_tokens"),
    ("empty messages", {"model": "support", "messages": []}, 422, "messages"),
    ("no model", {"messages": [{"role": "user", "content": "hi"}]}, 422, "model"),
    (
        "bad role",
        {"model": "support", "messages": [{"role": "robot", "content": "hi"}]},
        422,
        "messages.0.role",
    ),
    (
        "last not user",
        {"model": "support", "messages": [{"role": "assistant", "content": "hi"}]},
        422,
        "last message",
    ),
    (
        "blank question",
        {"model": "support", "messages": [{"role": "user", "content": "   "}]},
        422,
        "empty",
    ),
    (
        "unknown route",
        {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]},
        404,
        "unknown route 'gpt-4'",
    ),
    (
        "too many tokens",
        {"model": "support", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10**6},
        400,
        "max_tokens",
    ),
    (
        "unknown adapter",
        {"model": "support", "messages": [{"role": "user", "content": "hi"}], "adapter": "x"},
        400,
        "adapter: 'x' is not loaded",
    ),
    (
        "empty collections",
        {"model": "support", "messages": [{"role": "user", "content": "hi"}], "collections": []},
        400,
        "collections: give at least one",
    ),
    (
        "collections on a plain-chat route",
        {"model": "raw", "messages": [{"role": "user", "content": "hi"}], "collections": ["x"]},
        400,
        "not read by this route",
    ),
    (
        "n > 1",
        {"model": "support", "messages": [{"role": "user", "content": "hi"}], "n": 3},
        422,
        "n:",
    ),
]


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_chat_requests_get_4xx_naming_the_problem(server: Server, case):
    _, body, status, words = case
    with server.client("admin") as client:
        if isinstance(body, bytes):
            response = client.post(
                "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
            )
        else:
            response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]


def test_bad_uploads_and_limits(server: Server):
    with server.client("admin") as client:
        base = "/v1/collections/acme-policies/documents"
        dots = client.put(f"{base}/%2E%2E/%2E%2E/etc/passwd.md", content=b"# x\n\nx")
        assert dots.status_code == 400 and ".." in dots.json()["error"]["message"]
        absolute = client.put(f"{base}//etc/passwd.md", content=b"# x\n\nx")
        assert absolute.status_code == 400
        for name, rule in (
            ("evil%00.md", "control"),
            ("invoice%E2%80%AEdm.txt", "bidi"),
            ("caf%FF.md", "invalid"),
            (".hidden.md", "hidden"),
        ):
            named = client.put(f"{base}/{name}", content=b"# x\n\nx")
            assert named.status_code == 400 and rule in named.json()["error"]["message"], name
        fake = client.put(f"{base}/fake.pdf", content=b"this is not a PDF at all")
        assert fake.status_code == 422 and "fake.pdf" in fake.json()["error"]["message"]
        exe = client.put(f"{base}/tool.exe", content=b"MZ")
        assert exe.status_code == 415 and ".exe" in exe.json()["error"]["message"]
        empty = client.put(f"{base}/empty.md", content=b"")
        assert empty.status_code == 400
        big = client.put(f"{base}/big.txt", content=b"x" * (1024 * 1024 + 1))
        assert big.status_code == 413 and "max_upload_mb" in big.json()["error"]["message"]
        huge = ask(client, "support", "x" * 70_000)
        assert huge.status_code == 413 and "max_body_kb" in huge.json()["error"]["message"]
        chunked = client.post(  # no Content-Length: counted while reading
            "/v1/chat/completions",
            content=iter([b'{"model": "' + b"x" * 40_000, b"x" * 40_000 + b'"}']),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413 and "max_body_kb" in chunked.text
        draft = client.post("/v1/drafts", json={"instruction": "x", "collections": ["nowhere"]})
        assert draft.status_code == 404 and "'nowhere' does not exist" in draft.text
        unknown = client.get("/v1/nothing")  # Starlette's own 404s take the same shape
        assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Not Found"
        bad_name = client.get("/v1/collections/no%20such")
        assert bad_name.status_code == 400
        assert client.get("/v1/collections/nothing-here").status_code == 404
        names = {
            d["document"] for d in client.get("/v1/collections/acme-policies").json()["documents"]
        }
        assert "fake.pdf" not in names and "returns-policy.md" in names  # nothing lost
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # still serving


def test_per_key_concurrency_limit_answers_429(server: Server):
    body = {
        "model": "support",
        "messages": [{"role": "user", "content": "How long do I have to return a sale item?"}],
        "stream": True,
    }
    with server.client("solo") as client:
        with client.stream("POST", "/v1/chat/completions", json=body) as first:
            assert first.status_code == 200
            second = client.post("/v1/chat/completions", json={**body, "stream": False})
            assert second.status_code == 429 and "solo" in second.json()["error"]["message"]
            assert second.headers["retry-after"] == "1"
            events = [line for line in first.iter_lines() if line.startswith("data:")]
        assert events[-1] == "data: [DONE]"
        final = json.loads(events[-2][len("data:") :])
        assert "citations" in final and final["choices"][0]["finish_reason"] in ("stop", "length")
        # The slot is free again once the stream ended.
        assert (
            client.post("/v1/chat/completions", json={**body, "stream": False}).status_code == 200
        )


def test_per_key_token_budget_counts_prompt_tokens(server: Server):
    # ~1,400 prompt tokens of history: the first request fits the key's 2,048 tokens a minute,
    # the second would not, however few tokens it asks to generate.
    long_turn = "Please read this note about my order. " * 175
    body = {
        "model": "raw",
        "messages": [{"role": "user", "content": long_turn}],
        "max_tokens": 4,
    }
    with server.client("thrifty") as client:
        first = client.post("/v1/chat/completions", json=body)
        assert first.status_code == 200, first.text
        assert 1200 < first.json()["usage"]["prompt_tokens"] < 2048
        second = client.post("/v1/chat/completions", json=body)
        assert second.status_code == 429, second.text
        message = second.json()["error"]["message"]
        assert "thrifty" in message and "limit 2048" in message
        assert 0 < int(second.headers["retry-after"]) <= 60
    with server.client("agent") as client:  # other keys keep their own budget
        assert client.post("/v1/chat/completions", json=body).status_code == 200


def test_overload_answers_503_at_once(server: Server):
    # max_batch 4 + max_queue 6: 24 simultaneous requests cannot all wait.
    async def burst() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {KEYS['admin']}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=300) as client:
            body = {
                "model": "raw",
                "messages": [{"role": "user", "content": "Count to ten."}],
                "max_tokens": 24,
            }
            return await asyncio.gather(
                *[client.post("/v1/chat/completions", json=body) for _ in range(24)]
            )

    responses = asyncio.run(burst())
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503} and codes.count(503) > 0 and codes.count(200) >= 4, codes
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["error"]["message"]
    assert httpx.get(f"{server.url}/healthz").json()["queue"] == 0


def test_metrics_in_prometheus_format(server: Server):
    with server.client("agent") as client:
        ask(client, "support", "How many days do I have to return a sale item?")
        ask(client, "support", "Who won the football world cup in 1998?")
    # With keys configured, /metrics is not public unless the recipe says so.
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    with server.client("agent") as agent:
        assert agent.get("/metrics").status_code == 403
    with server.client("admin") as admin:
        text = admin.get("/metrics").text
    for name in (
        'hybrid_requests_total{endpoint="/v1/chat/completions",status="200"}',
        "hybrid_request_seconds_bucket",
        "hybrid_time_to_first_token_seconds_bucket",
        'hybrid_tokens_total{kind="completion",route="support"}',
        "hybrid_retrieval_best_similarity_bucket",
        'hybrid_refusals_total{route="support"}',
        "hybrid_unsupported_sentences_total",
        "hybrid_engine_queue",
    ):
        assert name in text, name
    assert "hybrid_citations_total{" in text


def test_an_upload_to_one_collection_does_not_wait_for_another(server: Server, index_dir):
    """Collection A's sync lock is held (a CLI sync, a slow upload): an upload to B still
    completes at once; A's upload finishes when its lock is free."""
    import threading
    import time

    from filelock import FileLock

    from hybrid.knowledge import store

    if server.process is None:
        pytest.skip("needs the fixture's own server and index root")
    lock = FileLock(str(store.collection_dir(index_dir, "contracts") / store.LOCK))
    results: dict[str, int] = {}
    with server.client("admin") as client:
        lock.acquire()
        try:

            def upload_a() -> None:
                a = client.put(
                    "/v1/collections/contracts/documents/waits.md", content=b"# A\n\nWaits."
                )
                results["a"] = a.status_code

            waiting = threading.Thread(target=upload_a)
            waiting.start()
            time.sleep(1.0)  # A is now waiting for its collection's lock
            started = time.perf_counter()
            b = client.put(
                "/v1/collections/acme-policies/documents/quick.md", content=b"# B\n\nQuick."
            )
            assert b.status_code == 201, b.text
            assert time.perf_counter() - started < 30 and "a" not in results  # A still waits
        finally:
            lock.release()
        waiting.join(timeout=120)
        assert results["a"] == 201
        for path in ("contracts/documents/waits.md", "acme-policies/documents/quick.md"):
            assert client.delete(f"/v1/collections/{path}").status_code == 200
