"""The strict pydantic base every config model derives from, and how validation errors read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a recipe must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe(error: ValidationError, source: str) -> str:
    """``source: field.path: message (got value)`` for each error, joined by ``;``."""
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "<root>"
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        parts.append(f"{source}: {field}: {item['msg']}{shown}")
    return "; ".join(parts)
