"""RAFT examples: oracle among hard negatives, cited as [n]; refusals when it is left out."""

import json
import re

import pytest

from hybrid.behaviour.raft import build_raft
from hybrid.config import parse_config

TOPICS = {
    "alpha.com": [
        "We share data with advertisers for targeted ads.",
        "We keep account data for 3 years after closure.",
        "Contact our privacy team by post to change your settings.",
    ],
    "beta.org": [
        "Data is never sold to third parties.",
        "Logs are deleted after 30 days.",
        "Cookies remember your language preference.",
    ],
    "gamma.net": [
        "Analytics partners receive pseudonymous usage data.",
        "Children under 13 may not register.",
        "You may request erasure of your profile at any time.",
    ],
    "delta.io": [
        "Payment details are processed by our card processor.",
        "Backups are kept for 90 days.",
        "We notify you by e-mail when this policy changes.",
    ],
}
QUESTIONS = ["Who receives my data?", "How long is data kept?", "What else should I know?"]


def _squad(path):
    data = []
    for title, paragraphs in TOPICS.items():
        paras = []
        for i, text in enumerate(paragraphs):
            answer = text.split(" ", 3)[-1].rstrip(".")  # a span of the paragraph
            paras.append(
                {
                    "context": text,
                    "qas": [
                        {
                            "id": f"{title}{i}",
                            "question": QUESTIONS[i],
                            "answers": [{"text": answer, "answer_start": text.index(answer)}],
                        }
                    ],
                }
            )
        data.append({"title": title, "paragraphs": paras})
    path.write_text(json.dumps({"version": "1", "data": data}))
    return path


KB = [
    {
        "question": "For how long do you keep backups?",
        "answers": ["90 days"],
        "documents": ["delta.io.txt"],
    },
    {"question": "Which pets may stay in the rooms?", "answers": [], "documents": []},
]


@pytest.mark.integration
def test_raft_examples_are_the_routes_own_prompts(tmp_path, embedder, tiny_llama):
    docs = tmp_path / "kb"
    docs.mkdir()
    (docs / "delta.io.txt").write_text(" ".join(TOPICS["delta.io"]))
    (tmp_path / "kb.jsonl").write_text("\n".join(json.dumps(row) for row in KB))
    config = parse_config(
        {
            "index_dir": str(tmp_path / "idx"),
            "chunking": {"unit": "chars", "size": 120, "overlap": 0},
            "routes": {
                "support": {
                    "collections": ["x"],
                    "min_similarity": -1.0,
                    # unknown_nouns off, as configs/answerer.yaml: every question gets a prompt
                    "evidence": {"sentences": 2, "require_words": False, "unknown_nouns": None},
                }
            },
            "raft": {
                "sources": [
                    {
                        "kind": "squad",
                        "path": str(_squad(tmp_path / "qa.json")),
                        "holdout_fraction": 0.25,
                    },
                    {
                        "kind": "kb",
                        "path": str(tmp_path / "kb.jsonl"),
                        "docs": str(docs),
                        "repeat": 2,
                    },
                ],
                "collection": "r",
                "p_no_oracle": 0.3,
                "validation_fraction": 0.0,
                "seed": 1,
            },
            "train": {"base_model": str(tiny_llama)},
        }
    )
    raft = build_raft(config, embedder)
    squad, kb = raft.snapshot.sources
    assert squad.collection == "r-0-squad" and kb.collection == "r-1-kb"
    assert len(squad.held_out_documents) == 1  # round(0.25 x 4 policies)
    assert len(raft.test) == 3  # the held-out policy's questions, each once
    assert len(raft.train) == 9 + 2 * 2  # 9 policy questions, 2 KB questions twice
    refusal = config.routes["support"].refusal
    refusals = 0
    for example in raft.train + raft.test:
        prompt, target = example.messages[0].content, example.messages[1].content
        assert prompt.endswith(refusal) and "Question: " in prompt  # the serving template
        numbered = dict(re.findall(r"^\[(\d+)\] (.+) \(\S+\)$", prompt, flags=re.MULTILINE))
        assert 1 <= len(numbered) <= 2  # evidence sentences, not chunks
        if target == refusal:
            refusals += 1
            continue
        cited = re.search(r"\[(\d+)\]$", target).group(1)
        assert target == f"{numbered[cited]} [{cited}]"  # the cited sentence, quoted whole
    assert refusals >= 2  # the unanswerable KB question (twice), and no-oracle prompts
    pets = [e for e in raft.train if "pets" in e.messages[0].content]
    assert len(pets) == 2 and all(e.messages[1].content == refusal for e in pets)
    # Document ids are file names, not PII: the redaction step leaves them as served.
    for example in raft.train:
        shown = set(
            re.findall(
                r"^\[\d+\] .+ \((\S+?)(?:, page [\d-]+)?\)$",
                example.messages[0].content,
                flags=re.MULTILINE,
            )
        )
        assert shown and shown <= set(example.keep)


def _one_document_router(tmp_path, embedder, tiny_llama, sentences: int = 2):
    """A route over one document holding every sentence of ``TOPICS``, ``sentences`` evidence
    sentences."""
    from hybrid.answer.router import Router
    from hybrid.behaviour.raft import PromptBudget
    from hybrid.datasets.qa_sets import index_set, read_kb

    docs = tmp_path / "kb"
    docs.mkdir()
    (docs / "all.txt").write_text(" ".join(s for ss in TOPICS.values() for s in ss))
    (tmp_path / "kb.jsonl").write_text(json.dumps(KB[1]) + "\n")
    config = parse_config(
        {
            "index_dir": str(tmp_path / "idx"),
            "chunking": {"unit": "chars", "size": 120, "overlap": 0},
            "routes": {
                "support": {
                    "collections": ["kb"],
                    "min_similarity": -1.0,
                    # unknown_nouns off, as configs/answerer.yaml: every question gets a prompt
                    "evidence": {
                        "sentences": sentences,
                        "require_words": False,
                        "unknown_nouns": None,
                    },
                }
            },
        }
    )
    index_set("kb", read_kb(docs, tmp_path / "kb.jsonl"), config, embedder, False)
    return Router(config, PromptBudget(str(tiny_llama)), embedder)  # type: ignore[arg-type]


@pytest.mark.integration
def test_a_missed_oracle_takes_the_last_place_or_makes_no_example(tmp_path, embedder, tiny_llama):
    import random

    from hybrid.behaviour.raft import make_example
    from hybrid.datasets.qa_sets import QA

    router = _one_document_router(tmp_path, embedder, tiny_llama)
    # Asked about backups, the answer is the payment sentence: retrieval ranks it nowhere near.
    qa = QA("How long are backups kept?", ("Payment details",), ("all.txt",))
    example = make_example(router, "support", "kb", qa, 0.0, random.Random(0), True, "last")
    prompt, target = example.messages[0].content, example.messages[1].content
    first = re.search(r"^\[1\] (.+) \(all\.txt\)$", prompt, flags=re.MULTILINE).group(1)
    assert first == "Backups are kept for 90 days."  # the route's own best, still first
    assert target == "Payment details are processed by our card processor. [2]"
    assert make_example(router, "support", "kb", qa, 0.0, random.Random(0), False) is None
    placed = [
        make_example(router, "support", "kb", qa, 0.0, random.Random(seed)).messages[1].content
        for seed in range(8)
    ]
    assert {t[-3:] for t in placed} == {"[1]", "[2]"}  # random places (the shipped recipe)


@pytest.mark.integration
def test_shuffled_evidence_moves_the_answer_and_its_citation(tmp_path, embedder, tiny_llama):
    import random

    from hybrid.behaviour.raft import make_example
    from hybrid.datasets.qa_sets import QA

    # Three sentences: a 3-cycle is its own test of the renumbering (a swap of two is not).
    router = _one_document_router(tmp_path, embedder, tiny_llama, sentences=3)
    qa = QA("How long are backups kept?", ("90 days",), ("all.txt",))

    def made(shuffle: float, seed: int) -> tuple[str, str]:
        example = make_example(
            router, "support", "kb", qa, 0.0, random.Random(seed), shuffle=shuffle
        )
        return example.messages[0].content, example.messages[1].content

    # The served order: the route ranks the answer first, so every target quotes [1].
    assert {made(0.0, seed)[1] for seed in range(6)} == {"Backups are kept for 90 days. [1]"}
    cited = set()
    for seed in range(16):
        prompt, target = made(1.0, seed)
        n = re.search(r"\[(\d+)\]$", target).group(1)
        shown = re.search(rf"^\[{n}\] (.+) \(all\.txt\)$", prompt, flags=re.MULTILINE).group(1)
        assert target == f"{shown} [{n}]" and shown == "Backups are kept for 90 days."
        cited.add(n)
    assert cited == {"1", "2", "3"}  # shuffled: the answer, and its number, move
