"""The promotion gate: measure an adapter through the route it is to serve, compare with the
route's thresholds, and record the promotion (or refuse it, naming the figures that missed).

The eval is the answers grid's tuned+rag arm on the gate's eval set, through the same router,
templates and verification the server uses; its figures go into the promotions log and into
the adapter's card (``promotions``), so a card says where and on what evidence it serves.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hybrid.config import HybridConfig, PromotionGate
from hybrid.knowledge.embedder import Embedder
from hybrid.models.cards import CARD
from hybrid.models.promotions import Promotion, Promotions, digest


class PromotionRefused(ValueError):
    """The adapter missed the route's thresholds; the message lists each failing figure."""


def misses(figures: dict[str, float | None], gate: PromotionGate) -> dict[str, str]:
    """Each threshold missed, by metric: "metric value < min" / "metric value > max"; a metric
    the eval could not measure (None: e.g. no unanswerable question for refusal_recall) misses
    too.

    Example: ``misses({"fact_match": 0.5}, gate_with_min_0_6)`` ->
    ``{"fact_match": "fact_match 0.500 < 0.6"}``
    """
    failed = {}
    for bound, limits in (("<", gate.min), (">", gate.max)):
        for name, limit in limits.items():
            value = figures.get(name)
            if value is None:
                needs = ">=" if bound == "<" else "<="
                failed[name] = f"{name} not measured (needs {needs} {limit})"
            elif (value < limit) if bound == "<" else (value > limit):
                failed[name] = f"{name} {value:.3f} {bound} {limit}"
    return failed


def measure(
    config: HybridConfig, embedder: Embedder, route: str, adapter: Path, gate: PromotionGate
) -> dict[str, float | None]:
    """The route's eval for ``adapter``: the grid's tuned+rag arm on the gate's eval set."""
    from hybrid.datasets.qa_sets import read_kb
    from hybrid.evals.answers import run_grid, sample

    qa_set = read_kb(gate.docs, gate.questions)
    qa_set = replace(qa_set, questions=sample(qa_set.questions, gate.limit, gate.seed))
    result, _ = run_grid(qa_set, config, embedder, route, ["tuned+rag"], adapter)
    return result.arms["tuned+rag"].model_dump() | {"n": float(result.n)}


def promote(
    promotions: Promotions,
    route: str,
    name: str,
    folder: Path,
    figures: dict[str, float | None],
    gate: PromotionGate,
    force: str | None = None,
) -> Promotion:
    """Record the promotion when every threshold holds, or when forced with a reason (the
    misses are recorded with it); otherwise PromotionRefused listing them."""
    failed = list(misses(figures, gate).values())
    if failed and not force:
        raise PromotionRefused(
            f"adapter {name!r} is not promoted for route {route!r}: "
            + "; ".join(failed)
            + ' (fix it, or --force "reason")'
        )
    action = "force" if force else "promote"
    entry = Promotion(
        route, name, str(folder), digest(folder), action, figures, tuple(failed), force
    )
    recorded = promotions.record(entry)
    _card_records(folder, recorded)
    return recorded


def _card_records(folder: Path, promotion: Promotion) -> None:
    """Add the promotion to the card's ``promotions`` list (the rest of the card unchanged)."""
    path = Path(folder) / CARD
    if not path.is_file():
        return
    card = json.loads(path.read_text(encoding="utf-8"))
    card.setdefault("promotions", []).append(
        {
            "route": promotion.route,
            "at": promotion.at,
            "action": promotion.action,
            "figures": promotion.figures,
            "failed": list(promotion.failed),
            "reason": promotion.reason,
        }
    )
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
