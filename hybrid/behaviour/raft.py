"""RAFT: fine-tuning examples whose prompt holds the oracle chunk among retrieved distractors.

For each question the prompt lists the oracle chunk (the one holding the answer) and the
retriever's own top hits that are not gold (hard negatives), in shuffled order, numbered [n].
The target answer cites the oracle as [n]; in a fraction ``p_no_oracle`` of prompts the oracle
is left out and the target says the documents do not contain the answer.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from hybrid.behaviour.data import Example, Message
from hybrid.config import HybridConfig, RaftConfig
from hybrid.knowledge import store
from hybrid.knowledge.embedder import Embedder
from hybrid.knowledge.search import Retriever, SearchResult
from hybrid.knowledge.sync import sync_folder


@dataclass(frozen=True)
class RaftSet:
    """Train / validation / held-out test examples and the collection snapshot they used."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    snapshot: dict


def _fraction(key: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def load_template(path: Path) -> jinja2.Template:
    if not path.is_file():
        raise ValueError(f"prompt template {path} not found")
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    ).from_string(path.read_text(encoding="utf-8"))


def render_example(
    template: jinja2.Template,
    question: str,
    oracle: SearchResult | None,
    distractors: list[SearchResult],
    answer: str,
    refusal: str,
    rng: random.Random,
    source: str,
) -> Example:
    """One RAFT example: shuffled numbered chunks; the target cites the oracle's number."""
    chunks = [*distractors, *([oracle] if oracle else [])]
    rng.shuffle(chunks)
    prompt = template.render(chunks=chunks, question=question, refusal=refusal)
    if oracle is None:
        target = refusal
    else:
        target = f"{answer.strip()} [{chunks.index(oracle) + 1}]"
    return Example((Message("user", prompt), Message("assistant", target)), source=source)


def build_raft(config: HybridConfig, embedder: Embedder, progress: bool = False) -> RaftSet:
    """Index the QA documents into ``raft.collection`` (incrementally) and build examples.

    Example: ``build_raft(load_config("configs/policyqa-raft.yaml"), embedder).train[0]``
    """
    from hybrid.evals.retrieval import load_policyqa

    raft: RaftConfig = config.raft  # type: ignore[assignment]
    docs, questions = load_policyqa(raft.qa_path)
    if raft.limit and len(questions) > raft.limit:
        questions = questions[:: max(1, len(questions) // raft.limit)][: raft.limit]
    with tempfile.TemporaryDirectory() as folder:
        for doc_id, text in docs.items():
            (Path(folder) / doc_id).write_text(text, encoding="utf-8")
        sync_folder(raft.collection, Path(folder), config, embedder, progress=progress)
    retriever = Retriever(
        store.collection_dir(config.index_dir, raft.collection), embedder, config.search
    )
    template = load_template(raft.template)
    rng = random.Random(raft.seed)
    held_out = {d for d in sorted(docs) if _fraction(d, raft.seed) < raft.holdout_fraction}
    sets: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    for number, q in enumerate(questions):
        gold_chunks = retriever.overlapping(q.doc_id, q.spans)
        if not gold_chunks:
            continue  # an answer span that no chunk covers: nothing to cite
        gold = {c.chunk_id for c in gold_chunks}
        hits = retriever.search(q.text, k=raft.distractors + len(gold) + 5)
        oracle = next((h for h in hits if h.chunk_id in gold), gold_chunks[0])
        distractors = [h for h in hits if h.chunk_id not in gold][: raft.distractors]
        keep_oracle = rng.random() >= raft.p_no_oracle
        answer = docs[q.doc_id][q.spans[0][0] : q.spans[0][1]]
        example = render_example(
            template,
            q.text,
            oracle if keep_oracle else None,
            distractors,
            answer,
            raft.refusal,
            rng,
            f"{raft.qa_path.name}:q{number}",
        )
        if q.doc_id in held_out:
            sets["test"].append(example)
        elif _fraction(q.text + q.doc_id, raft.seed + 1) < raft.validation_fraction:
            sets["validation"].append(example)
        else:
            sets["train"].append(example)
    snapshot = {
        "collection": raft.collection,
        "version": retriever.snapshot.version,
        "embedder": retriever.snapshot.meta["embedder"],
        "chunks": int(len(retriever.snapshot.bm25_ids)),
        "held_out_documents": sorted(held_out),
    }
    return RaftSet(sets["train"], sets["validation"], sets["test"], snapshot)
