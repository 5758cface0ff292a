"""Claim-level verification, table-driven over the labelled claim/source pairs in
``evals/data/claims`` (numbers, number words, dates, negations, swapped qualifiers and
entities, paraphrases, quotes, claims the document does not make)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hybrid.answer import claims
from hybrid.answer.figures import figures
from hybrid.answer.sentences import split
from hybrid.config import HybridConfig, VerifyConfig
from hybrid.knowledge.loaders import load_bytes, read_file
from hybrid.knowledge.search import SearchResult

ROOT = Path(__file__).resolve().parents[2] / "evals" / "data" / "claims"
SETS = [ROOT, ROOT / "heldout"]
# What the rules get wrong, and why (the aggregate test below bounds how many there may be).
KNOWN_MISSES = {
    "Returning an item in a store costs nothing.": "'item' reads as borrowed from another sentence",
    "The airport branch never closes; it is open 24 hours a day.": "'never closes' = 'open 24 "
    "hours' needs world knowledge (an NLI model has it)",
}
PAIRS = [
    (s, json.loads(line)) for s in SETS for line in (s / "pairs.jsonl").read_text().splitlines()
]


@pytest.fixture(scope="module")
def documents(embedder) -> dict[tuple[Path, str], tuple[list[SearchResult], np.ndarray]]:
    ingest = HybridConfig().ingest
    out = {}
    for folder in SETS:
        for path in sorted((folder / "docs").iterdir()):
            text = load_bytes(read_file(path, ingest), path.name, ingest).text
            whole = SearchResult(1, 1.0, "c", path.name, text, None, None, "", 0, len(text))
            sentences = split(whole)
            out[folder, path.name] = (sentences, embedder.embed([s.text for s in sentences]))
    return out


def test_figures_read_digits_words_units_and_names():
    assert figures("within fourteen days") >= {"14", "14 day", "2 week"}
    assert figures("two weeks") >= {"2 week", "14 day"}
    assert figures("$3.50 or 5,000") == {"3.5", "5000"}
    assert figures("every Tuesday at 09:00") == {"tuesday", "9:0"}
    assert figures("$28 a month") == {"28"}  # a rate, not a duration of one month
    assert "1 week" in figures("within a week")


@pytest.mark.integration
@pytest.mark.parametrize(("folder", "pair"), PAIRS, ids=[p["claim"][:40] for _, p in PAIRS])
def test_pair(documents, embedder, folder, pair):
    sentences, vectors = documents[folder, pair["document"]]
    vector = embedder.embed([pair["claim"]])[0]
    judged = claims.judge(pair["claim"], vector, sentences, vectors, VerifyConfig())
    assert judged.evidence is not None and judged.evidence.doc_id == pair["document"]
    if pair["claim"] in KNOWN_MISSES and judged.label != pair["label"]:
        pytest.xfail(KNOWN_MISSES[pair["claim"]])
    if pair["label"] in ("contradicted", "unsupported"):
        # The target that matters: nothing false is ever verified.
        assert not judged.verified, (judged.label, judged.reason, judged.evidence.text)
    elif pair["kind"] == "quote":
        assert judged.label == "quoted"
    else:
        assert judged.label == "supported", (judged.label, judged.reason)


def test_paraphrase_and_false_claim_rates(documents, embedder):
    """The issue's targets over both sets: false claims verified 0, paraphrases supported
    >= 75%, quotes quoted 100%."""
    tally = {"false_verified": 0, "false": 0, "para": 0, "para_ok": 0, "quote": 0, "quote_ok": 0}
    for folder, pair in PAIRS:
        sentences, vectors = documents[folder, pair["document"]]
        vector = embedder.embed([pair["claim"]])[0]
        label = claims.judge(pair["claim"], vector, sentences, vectors, VerifyConfig()).label
        if pair["label"] in ("contradicted", "unsupported"):
            tally["false"] += 1
            tally["false_verified"] += label in claims.VERIFIED
        elif pair["kind"] == "quote":
            tally["quote"] += 1
            tally["quote_ok"] += label == "quoted"
        else:
            tally["para"] += 1
            tally["para_ok"] += label == "supported"
    assert tally["false"] >= 40 and tally["para"] >= 25  # the set is the one the issue asks for
    assert tally["false_verified"] == 0, tally
    assert tally["para_ok"] / tally["para"] >= 0.75 and tally["quote_ok"] == tally["quote"]


def _tiny_nli(folder: Path, tokenizer, labels: dict[int, str]) -> Path:
    """A 1-layer random classifier whose head is zeroed: every pair gets label 0."""
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        pad_token_id=tokenizer.pad_token_id or 2,
    )
    model = LlamaForSequenceClassification(config)
    with torch.no_grad():
        model.score.weight.zero_()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_an_nli_model_decides_on_the_aligned_pair(tmp_path, smol_tokenizer, embedder):
    source = "Refunds are paid within 5 business days after we inspect the returned item."
    claim = "Refunds come back quickly once the item has been inspected."
    hit = SearchResult(1, 1.0, "c", "refunds.md", source, None, None, "", 0, len(source))
    vectors = embedder.embed([claim, source])
    config = VerifyConfig()
    rules = claims.judge(claim, vectors[0], [hit], vectors[1:], config).label
    for labels, expected in (
        ({0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}, "supported"),
        ({0: "contradiction", 1: "entailment", 2: "neutral"}, "contradicted"),
        ({0: "neutral", 1: "entailment", 2: "contradiction"}, "unsupported"),
    ):
        nli = claims.NLI(str(_tiny_nli(tmp_path / expected, smol_tokenizer, labels)))
        judged = claims.judge(claim, vectors[0], [hit], vectors[1:], config, nli=nli)
        assert judged.label == expected and judged.reason.startswith("NLI")
    assert rules in claims.VERIFIED or rules == "unsupported"  # the rules decided alone
    quoted = claims.judge(source, vectors[1], [hit], vectors[1:], config, nli=nli)
    assert quoted.label == "quoted"  # verbatim text needs no model
    with pytest.raises(ValueError, match="entailment and a contradiction label"):
        claims.NLI(str(_tiny_nli(tmp_path / "bad", smol_tokenizer, {0: "yes", 1: "no"})))


@pytest.mark.integration
@pytest.mark.parametrize(
    "sentence",
    [
        # A figure written twice ("six (6)") and repeated in the sentence: found in CUAD
        # contracts, where these verbatim quotes were labelled "contradicted".
        "Unless either party gives written notice to terminate this Agreement at least six (6) "
        "months prior to the end of said Initial Term, this Agreement shall continue on a year "
        "to year basis until terminated by either party by giving written notice of termination "
        "at least six (6) months prior to the end of the then current Extended Term.",
        "Audit During the Term and for seven (7) years after the expiration or termination of "
        "this Agreement, Reseller agrees to maintain complete books and records.",
    ],
)
def test_a_verbatim_sentence_with_figures_written_twice_is_quoted(embedder, sentence):
    other = "The Reseller pays a fee of twelve (12) dollars per licence within 30 days."
    sources = [
        SearchResult(1, 1.0, "c", "k.pdf", t, 1, 1, "", 0, len(t)) for t in (other, sentence)
    ]
    vectors = embedder.embed([other, sentence])
    judged = claims.judge(sentence, vectors[1], sources, vectors, VerifyConfig())
    assert (judged.label, judged.index) == ("quoted", 1)
    # The guard it passes is still there for a claim that does move a figure.
    moved = sentence.replace("seven (7) years", "twelve (12) years")
    if moved != sentence:
        judged = claims.judge(moved, embedder.embed([moved])[0], sources, vectors, VerifyConfig())
        assert judged.label != "quoted"
