"""The recipe: every layer's section in one validated model, read from YAML."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError, model_validator

from hybrid.config.behaviour import (
    DataConfig,
    FeedbackData,
    RaftConfig,
    RedactionConfig,
    SplitConfig,
    TrainConfig,
)
from hybrid.config.clauses import ClausesConfig
from hybrid.config.gates import TASK_ROUTES
from hybrid.config.knowledge import (
    KnowledgeConfig,
)
from hybrid.config.monitor import MonitorConfig
from hybrid.config.names import check_name
from hybrid.config.routes import DEFAULT_ROUTES, RouteConfig
from hybrid.config.runtime import RuntimeConfig
from hybrid.config.serving import ServeConfig
from hybrid.config.triage import TriageConfig
from hybrid.schema import describe


class HybridConfig(KnowledgeConfig):
    """Top-level recipe: the knowledge sections (at the top level, as in the YAML) and every
    other layer's. Example: ``load_config("configs/default.yaml").chunking.size``."""

    redaction: RedactionConfig = RedactionConfig()
    data: DataConfig | None = None
    feedback: FeedbackData | None = None
    split: SplitConfig = SplitConfig()
    train: TrainConfig = TrainConfig()
    raft: RaftConfig | None = None
    runtime: RuntimeConfig = RuntimeConfig()
    routes: dict[str, RouteConfig] = DEFAULT_ROUTES
    serve: ServeConfig = ServeConfig()
    monitor: MonitorConfig = MonitorConfig()
    triage: TriageConfig | None = None
    clauses: ClausesConfig | None = ClausesConfig()  # null: no POST /v1/clauses

    @property
    def knowledge(self) -> KnowledgeConfig:
        """The knowledge layer's sections (what sync and the index builder read)."""
        return KnowledgeConfig.model_construct(
            **{name: getattr(self, name) for name in KnowledgeConfig.model_fields}
        )

    @model_validator(mode="before")
    @classmethod
    def _default_routes_fit(cls, data: object) -> object:
        if not isinstance(data, dict) or "routes" in data:
            return data
        try:
            runtime = RuntimeConfig.model_validate(data.get("runtime") or {})
        except ValidationError:
            return data  # reported, with its field, by the normal validation
        if "answerer" in runtime.adapters:
            return data
        # Default routes on another base model: the shipped answerer does not fit it.
        plain = {n: r.model_copy(update={"adapter": None}) for n, r in DEFAULT_ROUTES.items()}
        return {**data, "routes": plain}

    @model_validator(mode="after")
    def _routes_consistent(self) -> HybridConfig:
        if self.triage is not None and self.triage.route not in (None, *self.routes):
            raise ValueError(
                f"triage.route: {self.triage.route!r} is not in routes "
                f"(known: {sorted(self.routes)})"
            )
        for source in self.raft.sources if self.raft is not None else ():
            if source.route not in self.routes:
                raise ValueError(
                    f"raft.sources: route {source.route!r} is not in routes "
                    f"(known: {sorted(self.routes)})"
                )
        for name, route in self.routes.items():
            check_name(name, "route name")
            if name in TASK_ROUTES:  # the promotions log keys the task models by these names
                raise ValueError(
                    f"routes.{name}: the name is reserved for the {name} task's promotions "
                    f"({', '.join(TASK_ROUTES)}); call the route something else"
                )
            if route.draft_adapter is not None and route.draft_adapter not in self.runtime.adapters:
                raise ValueError(
                    f"routes.{name}.draft_adapter: {route.draft_adapter!r} is not in "
                    f"runtime.adapters (known: {sorted(self.runtime.adapters) or 'none'})"
                )
            if route.adapter is not None and route.adapter not in self.runtime.adapters:
                known = sorted(self.runtime.adapters) or "none"
                raise ValueError(
                    f"routes.{name}.adapter: {route.adapter!r} is not in runtime.adapters "
                    f"(known: {known})"
                )
        return self


def parse_config(data: dict, source: str = "config") -> HybridConfig:
    """Validate a mapping; errors name the field and the bad value."""
    if not isinstance(data, dict):
        raise ValueError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return HybridConfig.model_validate(data)
    except ValidationError as error:
        raise ValueError(describe(error, source)) from None


def load_config(
    path: str | Path | None = None, index_dir: str | Path | None = None
) -> HybridConfig:
    """Load a YAML recipe (defaults when ``path`` is None).

    The index root comes from, in order: ``index_dir``, ``$HYBRID_INDEX_DIR``, the recipe.
    """
    data: dict = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"cannot read config {path}: {error.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from None
    config = parse_config(data, source)
    override = index_dir or os.environ.get("HYBRID_INDEX_DIR")
    if override:
        config = config.model_copy(update={"index_dir": Path(override)})
    return config
