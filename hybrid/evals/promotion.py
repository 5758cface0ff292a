"""The promotion gate: measure an adapter through the route it is to serve, compare with the
route's thresholds, and record the promotion (or refuse it, naming the figures that missed).

Answer routes are measured by the answers grid's tuned+rag arm on the gate's eval set, through
the same router, templates and verification the server uses. The task routes are measured by
their own evals on held-out data: ``triage`` (the classifier, ticket by ticket through the
server's triage path) and ``clauses`` (held-out contracts' clause texts, and the gate's PDFs
page by page). The figures go into the promotions log and into the model's card
(``promotions``), so a card says where and on what evidence it serves.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hybrid.config import TASK_ROUTES, ClausesGate, HybridConfig, PromotionGate, TriageGate
from hybrid.knowledge.embedder import Embedder
from hybrid.models.cards import CARD, read_card
from hybrid.models.promotions import Promotion, Promotions, digest

Gate = PromotionGate | TriageGate | ClausesGate


def target(config: HybridConfig, route: str, name: str) -> tuple[Gate, Path]:
    """(the route's gate, the folder NAME names): an adapter name in ``runtime.adapters`` for
    an answer route, a model folder for a task route. ValueError naming what is missing."""
    if route in TASK_ROUTES:
        section = config.triage if route == "triage" else config.clauses
        if section is None:
            raise ValueError(f"--route {route}: the recipe has no {route}: section")
        if section.promotion is None:
            raise ValueError(
                f"{route}.promotion: not set; the gate needs its eval data and thresholds"
            )
        folder = Path(name)
        if not folder.is_dir():
            raise ValueError(
                f"{name!r} is not a folder: for route {route}, name the model's folder (what "
                f"`hybrid eval {route}` wrote, e.g. hybrid/adapters/{route})"
            )
        return section.promotion, folder
    if route not in config.routes:
        known = sorted(config.routes) + list(TASK_ROUTES)
        raise ValueError(f"--route: unknown route {route!r} (known: {known})")
    gate = config.routes[route].promotion
    if gate is None:
        raise ValueError(
            f"routes.{route}.promotion: not set; the gate needs its eval set and thresholds"
        )
    if name not in config.runtime.adapters:
        known = sorted(config.runtime.adapters) or "none"
        raise ValueError(
            f"adapter {name!r} is not in runtime.adapters (known: {known}): a server can only "
            "serve adapters its recipe loads"
        )
    return gate, Path(config.runtime.adapters[name])


def check_split(folder: Path, route: str, gate: TriageGate | ClausesGate) -> None:
    """A task model is measured only on the data its training held out: the gate's share and
    seed must be the ones its card records."""
    split = read_card(folder).held_out_split if (Path(folder) / CARD).is_file() else None
    if split is None:
        raise ValueError(
            f"{folder}: its card does not record the split it trained on, so the gate cannot "
            f"tell held-out rows from training rows (train it with `hybrid eval {route}`)"
        )
    if (split.share, split.seed) != (gate.held_out, gate.seed):
        raise ValueError(
            f"{route}.promotion: held_out {gate.held_out} / seed {gate.seed} is not the split "
            f"{folder} trained with ({split.share} / {split.seed}): it would be scored on rows "
            "it learned from"
        )


class PromotionRefused(ValueError):
    """The adapter missed the route's thresholds; the message lists each failing figure."""


def misses(figures: dict[str, float | None], gate: Gate) -> dict[str, str]:
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
    config: HybridConfig, embedder: Embedder, route: str, adapter: Path, gate: Gate
) -> dict[str, float | None]:
    """The route's eval for ``adapter``: the task's eval on held-out data, or the grid's
    tuned+rag arm on the gate's eval set."""
    if isinstance(gate, TriageGate) and config.triage is not None:
        from hybrid.evals.triage import gate_figures

        check_split(adapter, route, gate)
        return gate_figures(config.triage, adapter, gate)
    if isinstance(gate, ClausesGate) and config.clauses is not None:
        from hybrid.evals.clauses import gate_figures as clause_figures

        check_split(adapter, route, gate)
        return clause_figures(config.clauses, embedder, adapter, gate)
    if not isinstance(gate, PromotionGate):
        raise TypeError(f"route {route!r}: no eval for a {type(gate).__name__}")
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
    gate: Gate,
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
