"""Ticket triage: intent and category with probabilities, the team, a one-line summary."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from hybrid.config import TriageConfig

SUMMARY_CHARS = 120


@dataclass(frozen=True)
class Triage:
    intent: str
    intent_probability: float
    alternatives: tuple[tuple[str, float], ...]  # the next intents, most likely first
    category: str
    category_probability: float  # the sum over the category's intents
    team: str
    summary: str


def summarise(ticket: str) -> str:
    """The ticket's first sentence, whitespace folded, at most 120 characters: extractive, so
    it never says what the customer did not."""
    text = " ".join(ticket.split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first if len(first) <= SUMMARY_CHARS else first[: SUMMARY_CHARS - 1].rstrip() + "…"


class Triager:
    """The classifier (``behaviour/classifier.py``, loaded once) and the routing table.

    Example: ``Triager.load(config.triage).triage("Where is my parcel?").team`` -> ``"logistics"``
    """

    def __init__(self, config: TriageConfig, classifier, categories: dict[str, str]):
        self.config, self.classifier, self.categories = config, classifier, categories

    @classmethod
    def load(cls, config: TriageConfig) -> Triager:
        from hybrid.models.classifier import Classifier  # torch: only when triage is on

        folder = Path(config.classifier)
        if not (folder / "adapter_config.json").is_file():
            raise FileNotFoundError(
                f"triage.classifier: {folder} holds no classifier (train one: hybrid eval triage)"
            )
        categories = dict(config.categories)
        if not categories and (folder / "categories.json").is_file():
            categories = json.loads((folder / "categories.json").read_text())
        return cls(config, Classifier.load(folder, config.base_model), categories)

    def triage(self, ticket: str) -> Triage:
        if not ticket.strip():
            raise ValueError("ticket: the text is blank")
        probs = self.classifier.predict([ticket])[0]
        ranked = sorted(probs.items(), key=lambda kv: -kv[1])
        intent, p = ranked[0]
        category = self.categories.get(intent, intent)
        in_category = sum(q for label, q in probs.items() if self.categories.get(label) == category)
        return Triage(
            intent=intent,
            intent_probability=round(p, 4),
            alternatives=tuple((label, round(q, 4)) for label, q in ranked[1:4]),
            category=category,
            category_probability=round(in_category or p, 4),
            team=self.config.teams.get(category, self.config.default_team),
            summary=summarise(ticket),
        )
