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


@pytest.mark.integration
def test_raft_examples(tmp_path, embedder):
    config = parse_config(
        {
            "index_dir": str(tmp_path / "idx"),
            "chunking": {"unit": "chars", "size": 60, "overlap": 0},
            "raft": {
                "qa_path": str(_squad(tmp_path / "qa.json")),
                "collection": "r",
                "distractors": 2,
                "p_no_oracle": 0.3,
                "holdout_fraction": 0.25,
                "validation_fraction": 0.0,
                "seed": 1,
            },
        }
    )
    raft = build_raft(config, embedder)
    examples = raft.train + raft.validation + raft.test
    assert len(examples) == 12
    held = raft.snapshot["held_out_documents"]
    assert raft.snapshot["version"] == "000001" and raft.snapshot["collection"] == "r"
    assert len(raft.test) == 3 * len(held)
    refusals = 0
    for example in examples:
        prompt, target = example.messages[0].content, example.messages[1].content
        numbered = re.findall(r"^\[(\d+)\] ", prompt, flags=re.MULTILINE)
        if target == config.raft.refusal:
            refusals += 1
            assert len(numbered) == 2  # distractors only
            continue
        assert len(numbered) == 3  # oracle + 2 hard negatives
        cited = int(re.search(r"\[(\d+)\]$", target).group(1))
        answer = target.rsplit(" [", 1)[0]
        block = prompt.split(f"[{cited}] ", 1)[1].split("\n\n", 1)[0]
        assert answer in block  # the cited chunk holds the answer
    assert 0 < refusals < 12
    assert all(e.source.startswith("qa.json:q") for e in examples)
