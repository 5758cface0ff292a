"""Typed configuration of the runtime, the routes and the server (part of ``HybridConfig``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from hybrid.precision import DType
from hybrid.schema import Strict

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
EMBEDDED_BASE = "embedded:SmolLM2-135M-Instruct"
# The default answerer (RAFT LoRA on the embedded base, `hybrid train configs/answerer.yaml`),
# shipped inside the package so `make demo` answers with it.
ANSWERER = Path(__file__).resolve().parent / "adapters" / "answerer"
Role = Literal["agent", "legal", "owner", "admin"]


class OpenAIBackend(Strict):
    """Any OpenAI-compatible server (vLLM with LoRA adapters, TGI, a hosted model)."""

    base_url: str = Field(pattern=r"^https?://")  # e.g. http://gpu-box:8000/v1
    model: str = Field(min_length=1)  # the served model; a route's adapter name replaces it
    api_key_env: str | None = None  # the bearer token is read from this variable
    timeout_s: float = Field(120.0, gt=0)
    context_window: int = Field(8192, gt=256)


class RuntimeConfig(Strict):
    """The generator: in-process (``local``) or a remote OpenAI-compatible server."""

    engine: Literal["local", "openai"] = "local"
    base_model: str = EMBEDDED_BASE
    # name -> adapter folder, all loaded once beside the base. Default: the shipped answerer
    # when the base is the embedded model (it was trained on that base), none otherwise.
    adapters: dict[str, Path] = {"answerer": ANSWERER}
    dtype: DType = "auto"
    device: str = "auto"  # cuda, then mps, then cpu
    compile: Literal["auto", "on", "off"] = "auto"  # static KV cache + torch.compile (CUDA)
    # continuous: requests join/leave between steps; micro: one generate() per micro-batch
    # (what compile needs). auto: micro when compiling, continuous otherwise.
    batching: Literal["auto", "continuous", "micro"] = "auto"
    max_batch: int = Field(16, gt=0, le=256)
    max_wait_ms: float = Field(5.0, ge=0, le=1000)  # how long a batch waits for company
    max_queue: int = Field(64, gt=0)  # requests waiting beyond this are answered 503
    context_window: int | None = Field(None, gt=256)  # default: the model's own
    openai: OpenAIBackend | None = None

    @field_validator("adapters")
    @classmethod
    def _adapter_names(cls, value: dict[str, Path]) -> dict[str, Path]:
        import re

        for name in value:
            if not re.match(NAME, name) or name == "__base__":
                raise ValueError(f"adapter name {name!r} must match {NAME} (and not be __base__)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_adapters_fit(cls, data: object) -> object:
        if isinstance(data, dict) and "adapters" not in data:
            if data.get("base_model", EMBEDDED_BASE) != EMBEDDED_BASE:
                return {**data, "adapters": {}}  # the shipped answerer fits only its own base
        return data

    @model_validator(mode="after")
    def _backend_given(self) -> RuntimeConfig:
        if self.engine == "openai" and self.openai is None:
            raise ValueError("engine 'openai' needs an `openai:` section (base_url, model)")
        return self


class GenerationSettings(Strict):
    """Decoding settings of a route; requests may lower ``max_new_tokens``, not raise it."""

    max_new_tokens: int = Field(96, gt=0, le=8192)  # answers are a sentence or two
    temperature: float = Field(0.0, ge=0, le=2)  # 0 = greedy
    top_p: float = Field(1.0, gt=0, le=1)
    # Guards, on generated tokens only (transformers' repetition_penalty also punishes the
    # prompt's tokens: at 1.1 the embedded model stopped copying from the documents).
    repetition_penalty: float = Field(1.0, ge=1.0, le=2.0)  # on tokens already generated
    no_repeat_ngram: int = Field(0, ge=0, le=64)  # never generate an n-gram twice (0: off)
    stop_loops: bool = True  # end a generation that repeats itself (finish_reason "loop")
    # The answer ends where it starts echoing the prompt (the OpenAI engine passes these on).
    stop: tuple[str, ...] = Field(("Question:",), max_length=8)


class VerifyConfig(Strict):
    """Claim-level verification (``hybrid/answer/claims.py``): each answer sentence is aligned to
    its best source sentence and labelled quoted / supported / contradicted / unsupported."""

    min_overlap: float = Field(0.5, ge=0, le=1)  # supported: share of its content words found
    min_similarity: float = Field(0.6, ge=-1, le=1)  # ... or this cosine and half that share
    quote_ratio: float = Field(0.9, gt=0, le=1)  # quoted: character similarity to the source
    # on_unsupported: quote replaces a sentence only with a source sentence about the same
    # thing (alignment score: cosine + share of its words); otherwise the sentence goes.
    min_quote_score: float = Field(0.8, ge=0, le=2)
    attribute_uncited: bool = True  # cite the supporting chunk of sentences the model left bare
    # Any Hugging Face sequence-classification model with entailment / contradiction labels
    # (e.g. an NLI cross-encoder): decides supported / contradicted / unsupported.
    nli_model: str | None = Field(None, min_length=1)


class EvidenceConfig(Strict):
    """What the model reads: the retrieved chunks whole, or their sentences nearest the question.

    ``sentences`` suits small models (they copy the wrong chunk, and prefill dominates latency).
    A route's drafts read whole chunks unless it sets ``draft_evidence``.
    """

    unit: Literal["chunks", "sentences"] = "sentences"
    sentences: int = Field(6, gt=0, le=20)  # how many numbered sentences the prompt holds
    lexical_weight: float = Field(0.3, ge=0, le=2)  # score = cosine + weight x word overlap
    chunk_weight: float = Field(0.5, ge=0, le=2)  # + weight x cosine(question, its chunk)
    min_score: float | None = Field(None, ge=-1, le=3)  # best sentence below this: refuse
    chunks: int | None = Field(None, gt=0, le=50)  # chunks split into sentences (None: top_k)
    # Refuse when no candidate sentence holds the question's distinctive words (evidence.leads)
    require_words: bool = False


class RouteConfig(Strict):
    """One use case: which collections it reads, which adapter and template answer it."""

    collections: tuple[str, ...] = ()  # none: plain chat, no retrieval
    adapter: str | None = None  # a name from runtime.adapters; None = the base model
    template: Path = Path("prompts/evidence_answer.j2")  # what the answerer was trained on
    draft_template: Path | None = None  # POST /v1/drafts on this route; None: no drafts
    draft_adapter: str | None = None  # drafts' adapter (the answerer writes answers, not drafts)
    system_prompt: str | None = None
    top_k: int = Field(5, gt=0, le=50)
    context_tokens: int = Field(1536, gt=0)  # budget for the numbered chunks
    min_similarity: float = Field(0.3, ge=-1, le=1)  # best chunk below this: refuse
    refusal: str = Field("The documents do not cover this question.", min_length=1)
    generation: GenerationSettings = GenerationSettings()
    verify: VerifyConfig = VerifyConfig()
    # A sentence that does not verify: listed (flag), removed (drop), or replaced by the source
    # sentence it aligned to, verbatim, in quotes (quote).
    on_unsupported: Literal["flag", "drop", "quote"] = "flag"
    evidence: EvidenceConfig = EvidenceConfig()
    # Drafts: what they read (None: whole chunks), and how many evidence sentences open them
    # verbatim. A lead quote must hold the instruction's distinctive words (evidence.leads);
    # when none does, the draft is refused rather than written from unrelated clauses.
    draft_evidence: EvidenceConfig | None = None
    # Answers too search only the documents a question names ("Quillhouse", by file name or
    # parties), without the names; drafts always do.
    scope_named: bool = False
    draft_quotes: int = Field(0, ge=0, le=5)

    @model_validator(mode="after")
    def _quotes_need_sentences(self) -> RouteConfig:
        unit = self.draft_evidence.unit if self.draft_evidence else "chunks"
        if self.draft_quotes and unit != "sentences":
            raise ValueError(
                f"draft_quotes ({self.draft_quotes}) needs draft_evidence.unit: sentences "
                f"(got {unit})"
            )
        return self


class ApiKey(Strict):
    """A key with a role; ``routes`` and ``collections`` narrow what it may use (globs)."""

    name: str = Field(pattern=NAME)
    role: Role
    key: SecretStr | None = None  # prefer key_env: recipes get committed
    key_env: str | None = None
    routes: tuple[str, ...] = ("*",)
    collections: tuple[str, ...] = ("*",)
    max_concurrency: int | None = Field(None, gt=0)  # default: limits.per_key_concurrency
    tokens_per_minute: int | None = Field(None, gt=0)  # default: limits.per_key_tokens_per_minute

    @model_validator(mode="after")
    def _one_source(self) -> ApiKey:
        if (self.key is None) == (self.key_env is None):
            raise ValueError(f"key {self.name!r}: give exactly one of `key` and `key_env`")
        return self

    def secret(self) -> str | None:
        """The key's value; None when its environment variable is unset."""
        if self.key is not None:
            return self.key.get_secret_value()
        return os.environ.get(self.key_env or "") or None


class LimitsConfig(Strict):
    """What one request may cost; beyond it the server answers 4xx/429/503 at once."""

    max_body_kb: int = Field(256, gt=0)  # JSON requests
    max_upload_mb: float = Field(20.0, gt=0)  # document uploads (ingest.max_pdf_pages applies)
    max_messages: int = Field(64, gt=0)
    max_new_tokens: int = Field(1024, gt=0)
    # A prompt's tokens (history + evidence + question): 20 long turns under the body limit
    # made a 32 s prefill on this CPU. Older turns are dropped first; the response says so.
    max_prompt_tokens: int = Field(2048, gt=0)
    per_key_concurrency: int = Field(8, gt=0)
    # Prompt + generated tokens per key and minute (sliding window), 429 beyond. This CPU
    # prefills ~900 tokens/s, so one key alone cannot reach the default; a GPU server can.
    per_key_tokens_per_minute: int = Field(100_000, gt=0)
    request_timeout_s: float = Field(120.0, gt=0)


class ServeConfig(Strict):
    """The HTTP server. With no keys it only runs on loopback, open, and says so."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    keys: tuple[ApiKey, ...] = ()
    # /metrics and /healthz's route list without a key (Prometheus scrapers). Default: public
    # only while the server has no keys; with keys, only by explicit choice.
    public_metrics: bool | None = None

    @property
    def metrics_public(self) -> bool:
        return self.public_metrics if self.public_metrics is not None else not self.keys

    limits: LimitsConfig = LimitsConfig()

    @field_validator("keys")
    @classmethod
    def _unique(cls, keys: tuple[ApiKey, ...]) -> tuple[ApiKey, ...]:
        names = [k.name for k in keys]
        if len(set(names)) != len(names):
            raise ValueError(f"key names must be unique, got {names}")
        return keys

    @model_validator(mode="after")
    def _budget_fits_a_prompt(self) -> ServeConfig:
        # A budget below one full prompt would refuse that prompt forever, not for a minute.
        prompt = self.limits.max_prompt_tokens
        if self.limits.per_key_tokens_per_minute < prompt:
            raise ValueError(
                f"limits.per_key_tokens_per_minute ({self.limits.per_key_tokens_per_minute}) "
                f"must be >= limits.max_prompt_tokens ({prompt})"
            )
        for key in self.keys:
            if key.tokens_per_minute is not None and key.tokens_per_minute < prompt:
                raise ValueError(
                    f"keys[{key.name}].tokens_per_minute ({key.tokens_per_minute}) must be >= "
                    f"limits.max_prompt_tokens ({prompt})"
                )
        return self


DEFAULT_ROUTES: dict[str, RouteConfig] = {
    # Both read the 6 sentences of the top-5 chunks nearest the question (prompt ~300 tokens)
    # and answer with the shipped RAFT answerer, greedy, one or two sentences.
    "support": RouteConfig(collections=("acme-policies",), adapter="answerer"),
    "legal": RouteConfig(
        collections=("contracts",),
        adapter="answerer",
        draft_template=Path("prompts/legal_draft.j2"),
        draft_adapter="answerer",
        # Drafts look wider inside the named contract (10 chunks), weigh the instruction's
        # words (governed, law) as much as meaning, and open with the clause, verbatim.
        draft_evidence=EvidenceConfig(chunks=10, sentences=4, lexical_weight=1.0),
        draft_quotes=1,
        on_unsupported="quote",  # a lawyer reads the source's words, not a guess
    ),
}
