import json

import pytest

from hybrid.behaviour.redact import Redactor, Span
from hybrid.evals.redaction import _gold_type, _scores, evaluate
from tests.conftest import SHARED, require_shared

SYNTH = SHARED / "pii" / "presidio_synth_v2.json"


class FixedRedactor:
    """Stands in for the Redactor: returns the spans it was given for each text."""

    def __init__(self, spans: dict[str, list[Span]]) -> None:
        self.spans = spans

    def find_pii(self, text: str) -> list[Span]:
        return self.spans.get(text, [])


def _gold(kind: str, text: str, value: str) -> dict:
    start = text.index(value)
    return {
        "entity_type": kind,
        "entity_value": value,
        "start_position": start,
        "end_position": start + len(value),
    }


def test_scores_weigh_recall_four_times():
    assert _scores(1, 2, 1, 1) == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f2": 5 * 0.5 / 3, "gold": 1, "predicted": 2}
    )
    assert _scores(0, 0, 0, 3)["f2"] == 0.0


def test_birth_dates_are_in_scope_other_dates_are_not():
    text = "She was born on 2/8/1935. We met on 3/3/2003."
    assert _gold_type(_gold("DATE_TIME", text, "2/8/1935"), text) == "DATE_OF_BIRTH"
    assert _gold_type(_gold("DATE_TIME", text, "3/3/2003"), text) is None
    assert _gold_type(_gold("GPE", text, "She"), text) == "LOCATION"
    assert _gold_type(_gold("ORGANIZATION", text, "She"), text) is None


def test_overlap_scoring_on_a_tiny_set(tmp_path):
    one = "Ann Lee lives in Oslo and works at Acme."
    two = "Mail bo@example.com now."
    items = [
        {
            "full_text": one,
            "spans": [
                _gold("PERSON", one, "Ann Lee"),
                _gold("GPE", one, "Oslo"),
                _gold("ORGANIZATION", one, "Acme"),
            ],
        },
        {"full_text": two, "spans": [_gold("EMAIL_ADDRESS", two, "bo@example.com")]},
    ]
    path = tmp_path / "synth.json"
    path.write_text(json.dumps(items))
    redactor = FixedRedactor(
        {
            one: [
                Span("PERSON", 0, 3, 0.9, "Ann"),  # partial overlap still finds the name
                Span("PERSON", 17, 21, 0.9, "Oslo"),  # right place, wrong type
                Span("LOCATION", 35, 39, 0.9, "Acme"),  # overlaps out-of-scope gold only
            ],
            two: [Span("URL", 0, 4, 0.5, "Mail")],  # a miss and a false positive
        }
    )
    result = evaluate(path, redactor)
    per_type = result.per_type
    assert per_type["PERSON"].recall == 1.0 and per_type["PERSON"].precision == 0.5
    assert per_type["LOCATION"].recall == 0.0 and per_type["LOCATION"].predicted == 0
    assert per_type["EMAIL_ADDRESS"].recall == 0.0
    assert per_type["URL"].precision == 0.0
    assert result.overall.recall == pytest.approx(1 / 3)
    assert result.overall.precision == pytest.approx(1 / 3)
    assert result.any_type_recall == pytest.approx(2 / 3)
    assert result.any_type_recall_all == pytest.approx(3 / 4)
    assert result.neutral_predictions == 1
    assert result.overall.strict_precision == pytest.approx(1 / 4)
    assert result.out_of_scope == ["ORGANIZATION"]
    assert evaluate(path, redactor, limit=1).sentences == 1
    with pytest.raises(ValueError):
        evaluate(path, redactor, limit=0)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.integration
@pytest.mark.slow
def test_evaluate_small_sample(redactor):
    result = evaluate(require_shared(SYNTH), redactor, limit=150)
    assert result.sentences == 150
    for name, scores in [("overall", result.overall), *result.per_type.items()]:
        for key in ("precision", "recall", "f2"):
            assert 0.0 <= getattr(scores, key) <= 1.0, (name, key)
    # Measured on these 150 sentences: recall 0.90, F2 0.90, any-type recall 0.92.
    assert result.overall.recall >= 0.85
    assert result.overall.f2 >= 0.85
    assert result.any_type_recall >= 0.87
    for kind in ("EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER", "US_SSN", "IP_ADDRESS"):
        assert result.per_type[kind].recall == 1.0, kind


@pytest.mark.integration
@pytest.mark.slow
def test_default_pipeline_meets_the_recall_target(redactor):
    # The whole set (~20 s). With spaCy's small model recall was 0.887 (PERSON 0.81); the
    # default en_core_web_md gives 0.921 at precision 0.849.
    result = evaluate(require_shared(SYNTH), redactor)
    assert result.overall.recall >= 0.90
    assert result.overall.precision >= 0.80
    assert result.per_type["PERSON"].recall >= 0.88
