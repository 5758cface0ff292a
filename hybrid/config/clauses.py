"""Configuration of risky-clause flags: the clause model, the types flagged and each one's risk."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from hybrid.config.gates import ClausesGate
from hybrid.schema import Strict

# CUAD's 41 clause categories (the columns of cuad_master_clauses.csv), the vocabulary a type
# in config must come from.
CUAD_TYPES = (
    "Document Name", "Parties", "Agreement Date", "Effective Date", "Expiration Date",
    "Renewal Term", "Notice Period To Terminate Renewal", "Governing Law",
    "Most Favored Nation", "Competitive Restriction Exception", "Non-Compete", "Exclusivity",
    "No-Solicit Of Customers", "No-Solicit Of Employees", "Non-Disparagement",
    "Termination For Convenience", "Rofr/Rofo/Rofn", "Change Of Control", "Anti-Assignment",
    "Revenue/Profit Sharing", "Price Restrictions", "Minimum Commitment", "Volume Restriction",
    "Ip Ownership Assignment", "Joint Ip Ownership", "License Grant", "Non-Transferable License",
    "Affiliate License-Licensor", "Affiliate License-Licensee",
    "Unlimited/All-You-Can-Eat-License", "Irrevocable Or Perpetual License",
    "Source Code Escrow", "Post-Termination Services", "Audit Rights", "Uncapped Liability",
    "Cap On Liability", "Liquidated Damages", "Warranty Duration", "Insurance",
    "Covenant Not To Sue", "Third Party Beneficiary",
)  # fmt: skip

Risk = Literal["low", "medium", "high"]
CLAUSE_MODEL = Path(__file__).resolve().parent.parent / "adapters" / "clauses"  # shipped


class ClauseType(Strict):
    """How one clause type is flagged: its risk, and optionally a confidence threshold and a
    number of flags per contract other than the ones the model chose in training."""

    risk: Risk = "medium"
    threshold: float | None = Field(None, gt=0, lt=1)
    max_flags: int | None = Field(None, ge=1)  # per contract; default: the model's (p90)


# What a buyer's counsel would look at first: liability without a cap is the one to escalate.
DEFAULT_TYPES = {
    "Governing Law": ClauseType(risk="low"),
    "Non-Compete": ClauseType(risk="high"),
    "Exclusivity": ClauseType(risk="medium"),
    "Change Of Control": ClauseType(risk="medium"),
    "Anti-Assignment": ClauseType(risk="low"),
    "Uncapped Liability": ClauseType(risk="high"),
    "Cap On Liability": ClauseType(risk="medium"),
    "Termination For Convenience": ClauseType(risk="medium"),
    "Renewal Term": ClauseType(risk="low"),
    "Liquidated Damages": ClauseType(risk="high"),
    "Ip Ownership Assignment": ClauseType(risk="high"),
    "Audit Rights": ClauseType(risk="low"),
}


class ClausesConfig(Strict):
    """``POST /v1/clauses`` and ``hybrid clauses``: flag a contract's clauses of these types.

    Example: ``ClausesConfig(types={"Governing Law": ClauseType(risk="low")})``
    """

    model: Path = CLAUSE_MODEL  # written by `hybrid eval clauses`; default: the shipped one
    types: dict[str, ClauseType] = DEFAULT_TYPES
    # What `hybrid adapters promote FOLDER --route clauses` requires (serve.require_promotion).
    promotion: ClausesGate | None = None

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: dict[str, ClauseType]) -> dict[str, ClauseType]:
        if not types:
            raise ValueError("name at least one clause type")
        for name in types:
            if name not in CUAD_TYPES:
                raise ValueError(f"unknown clause type {name!r} (CUAD's types: {CUAD_TYPES})")
        return types
