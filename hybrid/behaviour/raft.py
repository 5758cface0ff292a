"""RAFT: fine-tuning examples whose prompt is the serving route's own prompt for the question.

Each question goes through ``Router.retrieve`` and ``Router.compose`` exactly as a request would,
so the numbered evidence is the live retriever's (its hard negatives included) and the template
is the one the route serves. The target quotes the evidence sentence that holds the answer and
cites its number. Where retrieval missed that sentence it is put in at a random position (the
model learns to find it among distractors); in a fraction ``p_no_oracle`` of prompts it is taken
out, and so are unanswerable questions answered, with the route's refusal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from hybrid.answer import sentences
from hybrid.answer.router import Hit, Retrieved, Router
from hybrid.behaviour.data import Example, Message
from hybrid.config import HybridConfig, RaftConfig, RaftSource
from hybrid.datasets.qa_sets import QA, QASet, fraction, index_set, read_cuad, read_kb, read_squad
from hybrid.knowledge import store
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.search import SearchResult
from hybrid.knowledge.sync import live_contents
from hybrid.models.cards import BuiltSource, RaftSnapshot


@dataclass(frozen=True)
class RaftSet:
    """Train / validation / held-out test examples and the collections they were built from."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    snapshot: RaftSnapshot


class PromptBudget:
    """What ``Router.compose`` asks of an engine, from the base model's own tokenizer (building
    examples needs the prompt, not a running model)."""

    def __init__(self, base_model: str):
        from transformers import AutoTokenizer

        from hybrid.models.base import resolve_base

        self.tokenizer = AutoTokenizer.from_pretrained(resolve_base(base_model))
        self.context_window = int(getattr(self.tokenizer, "model_max_length", 2048) or 2048)
        self.context_window = min(self.context_window, 8192)

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        from hybrid.runtime.local import chat_ids

        return len(chat_ids(self.tokenizer, messages))


def read_source(source: RaftSource, seed: int) -> QASet:
    if source.kind == "squad":
        return read_squad(source.path)
    if source.kind == "kb":
        assert source.docs is not None  # RaftSource's validator guarantees it
        return read_kb(source.docs, source.path)
    return read_cuad(source.path, source.exclude, source.limit or 100, seed)


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def holds_answer(sentence: SearchResult, qa: QA) -> bool:
    """The sentence states the answer: it overlaps a gold span, or contains a gold string."""
    if qa.documents and sentence.doc_id not in qa.documents:
        return False
    spans = qa.answer_spans or qa.evidence
    if spans:
        return any(sentence.char_start < b and a < sentence.char_end for a, b in spans)
    return any(normalise(answer) in normalise(sentence.text) for answer in qa.answers)


def oracle_sentences(router: Router, collection: str, qa: QA) -> list[SearchResult]:
    """The gold document's sentences that hold the answer, in document order."""
    retriever = router.retriever(collection)
    if retriever is None or not qa.documents:
        return []
    spans = qa.answer_spans or qa.evidence or ((0, 1 << 40),)
    chunks = retriever.overlapping(qa.documents[0], spans)
    found: dict[str, SearchResult] = {}
    for chunk in chunks:
        for sentence in sentences.split(chunk):
            if holds_answer(sentence, qa):
                found.setdefault(normalise(sentence.text), sentence)
    return list(found.values())


def make_example(
    router: Router,
    route: str,
    collection: str,
    qa: QA,
    p_no_oracle: float,
    rng: random.Random,
    insert_oracle: bool = True,
    oracle_position: str = "random",
    shuffle: float = 0.0,
) -> Example | None:
    """One RAFT example for a question, or None when the route refuses before generating.

    The evidence keeps the order the route serves it in (best first). Where retrieval missed
    the answer, the oracle sentence replaces one of the evidence (``insert_oracle``; otherwise
    there is no example): at a random place, or the last one (the weakest evidence that made
    the cut, so that the model learns how far to trust the ranking). In a share ``shuffle`` of
    the examples the evidence is then put in a random order.
    """
    retrieved = router.retrieve(route, qa.question, documents=qa.scope)
    if retrieved.refused:
        return None  # the serving route answers with its refusal without asking the model
    hits = list(retrieved.hits)
    refusal = router.route(route).refusal
    gold = [i for i, h in enumerate(hits) if qa.answerable and holds_answer(h.chunk, qa)]
    if qa.answerable and gold and rng.random() < p_no_oracle:
        hits = [h for i, h in enumerate(hits) if i not in gold]
        if any(normalise(a) in normalise(h.chunk.text) for h in hits for a in qa.answers):
            return None  # the answer is stated elsewhere too: not a no-oracle prompt
        gold = []
    elif qa.answerable and not gold:
        oracles = oracle_sentences(router, collection, qa) if insert_oracle else []
        if not oracles:
            return None
        size = len(hits) or 1
        position = size - 1 if oracle_position == "last" else rng.randrange(size)
        hit = Hit(collection, replace(oracles[0], rank=position + 1), None)
        hits = hits[: size - 1]
        hits.insert(min(position, len(hits)), hit)
        gold = [hits.index(hit)]
    if shuffle and len(hits) > 1 and rng.random() < shuffle:
        order = rng.sample(range(len(hits)), len(hits))
        hits = [hits[i] for i in order]
        gold = [order.index(i) for i in gold]
    if gold:
        target = " ".join(f"{hits[i].chunk.text} [{i + 1}]" for i in sorted(gold)[:2])
    else:
        target = refusal
    again = Retrieved(tuple(hits), retrieved.best_similarity, False)
    comp = router.compose(route, [{"role": "user", "content": qa.question}], retrieved=again)
    if comp.refused or len(comp.sources) != len(hits):
        return None  # evidence dropped for the context budget: the numbers would not match
    messages = [Message(m["role"], m["content"]) for m in comp.messages]
    cited = tuple(dict.fromkeys(h.chunk.doc_id for h in hits))
    return Example((*messages, Message("assistant", target)), source=qa.source, keep=cited)


def _held_out(qa_set: QASet, share: float, seed: int) -> set[str]:
    """Exactly round(share x documents) held out, chosen by hash (stable across runs)."""
    documents = sorted(qa_set.documents or {}) or sorted(
        {d for q in qa_set.questions for d in q.documents}
    )
    ranked = sorted(documents, key=lambda d: fraction(d, seed))
    return set(ranked[: round(share * len(documents))])


def _split_of(qa: QA, held_out: set[str], raft: RaftConfig) -> str:
    """test for a held-out document's question; else validation (by hash) or train."""
    home = (qa.scope or qa.documents or ("",))[0]
    if home in held_out:
        return "test"
    if fraction(qa.question + home, raft.seed + 1) < raft.validation_fraction:
        return "validation"
    return "train"


def build_raft(config: HybridConfig, embedder: Embedder, progress: bool = False) -> RaftSet:
    """Index every source's documents (incrementally) and build its examples.

    Example: ``build_raft(load_config("configs/answerer.yaml"), embedder).train[0]``
    """
    from tqdm import tqdm

    raft: RaftConfig = config.raft  # type: ignore[assignment]
    rng = random.Random(raft.seed)
    sets: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    built: list[BuiltSource] = []
    budget = PromptBudget(config.train.base_model)
    for number, source in enumerate(raft.sources):
        qa_set = read_source(source, raft.seed)
        collection = f"{raft.collection}-{number}-{source.kind}"
        index_set(collection, qa_set, config, embedder, progress)
        route = config.routes[source.route].model_copy(
            update={"collections": (collection,), "adapter": None}
        )
        routed = config.model_copy(update={"routes": {"raft": route}})
        router = Router(routed, budget, embedder)  # type: ignore[arg-type]
        held_out = _held_out(qa_set, source.holdout_fraction, raft.seed)
        questions = qa_set.questions
        if source.kind != "cuad" and source.limit and len(questions) > source.limit:
            questions = questions[:: max(1, len(questions) // source.limit)][: source.limit]
        made = 0
        for qa in tqdm(questions, desc=f"RAFT {qa_set.name}", disable=not progress):
            split = _split_of(qa, held_out, raft)
            for _ in range(source.repeat if split == "train" else 1):
                example = make_example(
                    router, "raft", collection, qa, raft.p_no_oracle, rng,
                    source.insert_oracle, raft.oracle_position, raft.shuffle,
                )  # fmt: skip
                if example is not None:
                    sets[split].append(example)
                    made += 1
        retriever = router.retriever(collection)
        documents, chunk_ids = live_contents(store.collection_dir(config.index_dir, collection))
        built.append(
            BuiltSource(
                kind=source.kind,
                path=str(source.path),
                route=source.route,
                collection=collection,
                version=retriever.snapshot.version if retriever else None,
                questions=len(questions),
                examples=made,
                held_out_documents=sorted(held_out),
                documents=documents,
                chunk_ids=chunk_ids,
            )
        )
    rng.shuffle(sets["train"])
    snapshot = RaftSnapshot(sources=built, embedder=embedder.name)
    return RaftSet(sets["train"], sets["validation"], sets["test"], snapshot)
