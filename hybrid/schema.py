"""The strict pydantic base every config model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a recipe must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)
