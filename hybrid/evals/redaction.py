"""Redaction eval on presidio-research's synthetic PII sentences: span-overlap P / R / F2."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

from hybrid.behaviour.redact import Redactor
from hybrid.evals.results import RedactionResult, TypeScores

# Dataset type -> our entity. Out of scope (not among the types we promise to remove):
# ORGANIZATION, TITLE, NRP, AGE, ZIP_CODE (a bare postcode; postcodes inside an address are
# labelled STREET_ADDRESS and count), US_DRIVER_LICENSE (five spans, no configured entity)
# and DATE_TIME unless it is a birth date. Out-of-scope gold spans are left out of every
# per-type and micro figure; a prediction that overlaps only out-of-scope gold is neither
# right nor wrong ("neutral_predictions"), and precision counting those as wrong is reported
# too ("strict_precision"). "any_type_recall" covers in-scope gold; "any_type_recall_all"
# covers every gold span, out-of-scope ones included.
# Known label noise: some templates label a whole address block (street, town, country) as
# one STREET_ADDRESS, others label the town and country GPE. The redactor tags towns and
# countries LOCATION, so the first kind costs LOCATION precision, never recall.
TYPE_MAP = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "GPE": "LOCATION",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "DOMAIN_NAME": "URL",  # every DOMAIN_NAME value in the set is a full URL
}
# A DATE_TIME span is a birth date when a birth cue precedes it in the same sentence; the
# cue list is the one a reader would use, not derived from the redactor.
BIRTH_CUE = re.compile(r"\b(born|birth|birthday|d\.?o\.?b\.?)\b[^.\n]{0,40}$", re.IGNORECASE)


def _gold_type(span: dict, text: str) -> str | None:
    kind = span["entity_type"]
    if kind == "DATE_TIME":
        before = text[: span["start_position"]]
        return "DATE_OF_BIRTH" if BIRTH_CUE.search(before) else None
    return TYPE_MAP.get(kind)


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _scores(tp_pred: int, n_pred: int, tp_gold: int, n_gold: int) -> dict[str, float | int]:
    precision, recall = _ratio(tp_pred, n_pred), _ratio(tp_gold, n_gold)
    # F2 weighs recall four times as much as precision: a missed name is worse than a
    # needless placeholder.
    f2 = _ratio(5 * precision * recall, 4 * precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f2": f2, "gold": n_gold, "predicted": n_pred}


def evaluate(path: Path, redactor: Redactor, limit: int | None = None) -> RedactionResult:
    """Score ``redactor.find_pii`` against the gold spans of the first ``limit`` sentences.

    Example: ``evaluate(Path("../shared/data/pii/presidio_synth_v2.json"), Redactor())``
    returns ``{"overall": {"precision": ..., "recall": ..., "f2": ...}, "per_type": {...}, ...}``
    (figures in [0, 1]); ``"seconds"`` is the time spent detecting.
    """
    if limit is not None and limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(items, list) or not all("full_text" in i and "spans" in i for i in items):
        raise ValueError(f"{path}: expected a list of {{full_text, spans}} items")
    items = items[:limit]
    gold_n, gold_hit, pred_n, pred_hit = Counter(), Counter(), Counter(), Counter()
    any_hit = any_hit_all = all_gold = neutral = 0
    started = time.perf_counter()
    for item in items:
        text = item["full_text"]
        predicted = redactor.find_pii(text)
        gold = [
            (s["start_position"], s["end_position"], _gold_type(s, text)) for s in item["spans"]
        ]
        for start, end, kind in gold:
            touched = [p for p in predicted if _overlaps(start, end, p.start, p.end)]
            all_gold += 1
            any_hit_all += bool(touched)
            if kind is None:
                continue
            gold_n[kind] += 1
            any_hit += bool(touched)
            gold_hit[kind] += any(p.entity == kind for p in touched)
        for p in predicted:
            kinds = {k for s, e, k in gold if _overlaps(s, e, p.start, p.end)}
            if kinds and kinds <= {None}:
                neutral += 1
                continue
            pred_n[p.entity] += 1
            pred_hit[p.entity] += p.entity in kinds
    seconds = time.perf_counter() - started
    types = sorted(set(gold_n) | set(pred_n))
    per_type = {k: _scores(pred_hit[k], pred_n[k], gold_hit[k], gold_n[k]) for k in types}
    overall = _scores(
        sum(pred_hit.values()), sum(pred_n.values()), sum(gold_hit.values()), sum(gold_n.values())
    )
    overall["strict_precision"] = _ratio(sum(pred_hit.values()), sum(pred_n.values()) + neutral)
    return RedactionResult(
        dataset=Path(path).name,
        sentences=len(items),
        seconds=round(seconds, 1),
        overall=TypeScores.model_validate(overall),
        any_type_recall=_ratio(any_hit, sum(gold_n.values())),
        any_type_recall_all=_ratio(any_hit_all, all_gold),
        neutral_predictions=neutral,
        out_of_scope=sorted({s["entity_type"] for i in items for s in i["spans"]} - set(TYPE_MAP)),
        per_type={k: TypeScores.model_validate(v) for k, v in per_type.items()},
    )
