"""Configuration of the HTTP server: keys, roles and what one request may cost."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from hybrid.config.names import Name
from hybrid.schema import Strict

Role = Literal["agent", "legal", "owner", "admin"]


class ApiKey(Strict):
    """A key with a role; ``routes`` and ``collections`` narrow what it may use (globs)."""

    name: Name
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
    max_ticket_chars: int = Field(20_000, gt=0)  # POST /v1/triage; beyond it 413
    # POST /v1/clauses: a contract's extracted text (about 250 pages); beyond it 413
    max_contract_chars: int = Field(600_000, gt=0)


class ServeConfig(Strict):
    """The HTTP server. With no keys it only runs on loopback, open, and says so."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    keys: tuple[ApiKey, ...] = ()
    # /metrics and /healthz's route list without a key (Prometheus scrapers). Default: public
    # only while the server has no keys; with keys, only by explicit choice.
    public_metrics: bool | None = None
    # Serve a route's adapter only once `hybrid adapters promote` passed it (or was forced):
    # the server refuses to start otherwise, and follows rollbacks without a restart.
    require_promotion: bool = False

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
