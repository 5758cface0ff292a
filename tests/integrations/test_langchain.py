"""LangChain interop: our retriever inside an LCEL chain with a fake LLM, and our loader."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import RunnablePassthrough

from hybrid.integrations.langchain import HybridLoader, HybridRetriever
from hybrid.knowledge.sync import sync_folder
from tests.conftest import CONTRACTS, THREE_DOCS, make_config, require_shared, write_docs


@pytest.fixture
def shop(tmp_path, embedder):
    config = make_config(tmp_path)
    sync_folder("shop", write_docs(tmp_path / "docs", THREE_DOCS), config.knowledge, embedder)
    return config


def test_retriever_in_an_lcel_chain_keeps_our_provenance(shop, embedder):
    retriever = HybridRetriever.open(shop.index_dir, "shop", embedder, shop.search, k=2)
    docs = retriever.invoke("How long do I have to return a sale item?")
    assert docs[0].metadata["document"] == "refunds.md" and "14 days" in docs[0].page_content
    assert docs[0].id == docs[0].metadata["chunk_id"] and docs[0].metadata["rank"] == 1
    assert len(docs) == 2

    def format_docs(found) -> str:
        return "\n".join(f"[{i}] {d.page_content}" for i, d in enumerate(found, start=1))

    prompt = PromptTemplate.from_template("Evidence:\n{context}\n\nQuestion: {question}")
    seen = []

    def spy(value):
        seen.append(value.to_string())
        return value

    llm = FakeListLLM(responses=["Within 14 days [1]."])
    chain = {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt
    answer = (chain | spy | llm).invoke("How long do I have to return a sale item?")
    assert answer == "Within 14 days [1]." and "[1] " in seen[0] and "14 days" in seen[0]

    only = HybridRetriever.open(shop.index_dir, "shop", embedder, documents=("shipping.txt",))
    assert {d.metadata["document"] for d in only.invoke("sale items")} == {"shipping.txt"}
    with pytest.raises(FileNotFoundError, match="nope"):
        HybridRetriever.open(shop.index_dir, "nope", embedder)


def test_retriever_sees_a_sync_without_reopening(shop, embedder, tmp_path):
    retriever = HybridRetriever.open(shop.index_dir, "shop", embedder, k=1)
    docs = write_docs(tmp_path / "docs", {"gifts.md": "Gift cards never expire.\n"})
    sync_folder("shop", docs, shop.knowledge, embedder)
    assert retriever.invoke("Do gift cards expire?")[0].metadata["document"] == "gifts.md"


def test_loader_gives_pages_of_pdfs_and_whole_texts_and_skips_bad_files(tmp_path):
    folder = write_docs(tmp_path / "in", THREE_DOCS | {"broken.pdf": b"%PDF-1.4 not really"})
    loader = HybridLoader(folder)
    docs = loader.load()
    assert {d.metadata["document"] for d in docs} == set(THREE_DOCS)
    assert "broken.pdf" in loader.failed
    html = next(d for d in docs if d.metadata["document"] == "privacy.html")
    assert "6 years" in html.page_content and "secret-script" not in html.page_content
    pdf = sorted(require_shared(CONTRACTS).glob("*.pdf"))[0]
    pages = HybridLoader(pdf).load()
    assert len(pages) > 1 and [p.metadata["page"] for p in pages] == list(range(1, len(pages) + 1))
