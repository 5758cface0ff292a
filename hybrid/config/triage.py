"""Configuration of ticket triage: the classifier, and which team takes each category."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hybrid.config.gates import TriageGate
from hybrid.config.runtime import EMBEDDED_BASE
from hybrid.schema import Strict

# Bitext's 11 categories, routed to the teams a retailer would have.
DEFAULT_TEAMS = {
    "ACCOUNT": "accounts",
    "CANCELLATION_FEE": "billing",
    "CONTACT": "customer-care",
    "DELIVERY": "logistics",
    "FEEDBACK": "customer-care",
    "INVOICE": "billing",
    "NEWSLETTER": "marketing",
    "ORDER": "orders",
    "PAYMENT": "billing",
    "REFUND": "billing",
    "SHIPPING_ADDRESS": "logistics",
}


class TriageConfig(Strict):
    """``POST /v1/triage`` and ``hybrid triage``: classify a ticket (intent, its category), route
    it to a team, and draft a reply through an answer route (cited, verified)."""

    classifier: Path  # a folder written by `hybrid eval triage` (PEFT files + labels.json)
    base_model: str = EMBEDDED_BASE  # the model the classifier was trained on
    categories: dict[str, str] = {}  # intent -> category; default: the classifier's labels.json
    teams: dict[str, str] = DEFAULT_TEAMS  # category -> team
    default_team: str = Field("support", min_length=1)  # a category no mapping names
    route: str | None = "support"  # drafts the reply; None: no draft
    # What `hybrid adapters promote FOLDER --route triage` requires (serve.require_promotion).
    promotion: TriageGate | None = None
