"""Typed, validated configuration, one module per layer; one YAML recipe per use case in configs/.

Example: ``from hybrid.config import load_config; load_config("configs/default.yaml").routes``
"""

from hybrid.config.behaviour import (
    DEFAULT_PII,
    CsvColumns,
    CustomRecognizer,
    DataConfig,
    FeedbackData,
    LoraSettings,
    RaftConfig,
    RaftSource,
    RedactionConfig,
    SplitConfig,
    TrainConfig,
)
from hybrid.config.clauses import CUAD_TYPES, DEFAULT_TYPES, ClausesConfig, ClauseType
from hybrid.config.gates import (
    CLAUSE_METRICS,
    GRID_METRICS,
    TASK_ROUTES,
    TRIAGE_METRICS,
    ClausesGate,
    PromotionGate,
    TriageGate,
)
from hybrid.config.knowledge import (
    ChunkingConfig,
    EmbedderConfig,
    IndexConfig,
    IngestConfig,
    KnowledgeConfig,
    SearchConfig,
)
from hybrid.config.monitor import DriftThresholds, MonitorConfig
from hybrid.config.names import NAME, Name, check_name
from hybrid.config.recipe import HybridConfig, load_config, parse_config
from hybrid.config.routes import (
    DEFAULT_ROUTES,
    EvidenceConfig,
    GenerationSettings,
    RouteConfig,
    VerifyConfig,
)
from hybrid.config.runtime import ANSWERER, EMBEDDED_BASE, OpenAIBackend, RuntimeConfig
from hybrid.config.serving import ApiKey, LimitsConfig, Role, ServeConfig
from hybrid.config.triage import DEFAULT_TEAMS, TriageConfig

__all__ = [
    "CLAUSE_METRICS",
    "GRID_METRICS",
    "TASK_ROUTES",
    "TRIAGE_METRICS",
    "ClausesGate",
    "PromotionGate",
    "TriageGate",
    "CUAD_TYPES",
    "DEFAULT_TYPES",
    "ClauseType",
    "ClausesConfig",
    "ANSWERER",
    "DEFAULT_PII",
    "DEFAULT_ROUTES",
    "DEFAULT_TEAMS",
    "EMBEDDED_BASE",
    "NAME",
    "ApiKey",
    "ChunkingConfig",
    "CsvColumns",
    "CustomRecognizer",
    "DataConfig",
    "DriftThresholds",
    "EmbedderConfig",
    "EvidenceConfig",
    "FeedbackData",
    "GenerationSettings",
    "HybridConfig",
    "IndexConfig",
    "IngestConfig",
    "KnowledgeConfig",
    "LimitsConfig",
    "LoraSettings",
    "MonitorConfig",
    "Name",
    "OpenAIBackend",
    "RaftConfig",
    "RaftSource",
    "RedactionConfig",
    "Role",
    "RouteConfig",
    "RuntimeConfig",
    "SearchConfig",
    "ServeConfig",
    "SplitConfig",
    "TrainConfig",
    "TriageConfig",
    "VerifyConfig",
    "check_name",
    "load_config",
    "parse_config",
]
