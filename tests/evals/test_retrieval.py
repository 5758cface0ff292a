import math

import pytest

from hybrid.datasets.policyqa import load_policyqa
from hybrid.evals.retrieval import _scores, evaluate
from tests.conftest import SHARED, make_config, require_shared

POLICYQA = SHARED / "policyqa" / "dev.json"


def test_scores_count_the_first_gold_hit():
    assert _scores(["a", "b", "g"], {"g", "h"}) == {
        "recall@1": 0.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "mrr@10": pytest.approx(1 / 3),
        "ndcg@10": pytest.approx(1 / math.log2(4)),
    }
    assert _scores(["a"] * 10 + ["g"], {"g"})["recall@10"] == 0.0


@pytest.mark.integration
def test_policyqa_spans_map_into_documents():
    docs, questions = load_policyqa(require_shared(POLICYQA))
    assert len(docs) == 20 and len(questions) == 3809
    import json

    raw = json.loads(POLICYQA.read_text())["data"]
    answers = [
        a["text"]
        for p in raw
        for par in p["paragraphs"]
        for qa in par["qas"]
        for a in qa["answers"]
    ]
    spans = [docs[q.doc_id][s:e] for q in questions for s, e in q.spans]
    assert spans == answers


@pytest.mark.integration
@pytest.mark.slow
def test_evaluate_small_sample(tmp_path, embedder):
    config = make_config(tmp_path, chunking={"unit": "tokens", "size": 200, "overlap": 40})
    result = evaluate(require_shared(POLICYQA), config, embedder, "pqa", limit=120, progress=False)
    assert result.questions == 120 and result.skipped == 0
    metrics = result.metrics
    for bucket in metrics.values():
        assert 0 <= bucket["recall@1"] <= bucket["recall@5"] <= bucket["recall@10"] <= 100
    # Scoping to the question's own policy must help: questions are generic.
    assert metrics["scoped/hybrid"]["ndcg@10"] > metrics["unscoped/hybrid"]["ndcg@10"]
    assert metrics["scoped/dense"]["recall@10"] > 40
