"""Configuration of the runtime: the generator, in-process or an OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hybrid.config.names import check_name
from hybrid.precision import DType
from hybrid.schema import Strict

EMBEDDED_BASE = "embedded:SmolLM2-135M-Instruct"
# The default answerer (RAFT LoRA on the embedded base, `hybrid train configs/answerer.yaml`),
# shipped inside the package so `make demo` answers with it.
ANSWERER = Path(__file__).resolve().parent.parent / "adapters" / "answerer"


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
    # on: static KV cache + torch.compile, micro-batches (CUDA). auto: off, continuous batching:
    # on an H200 with an adapter the compiled path gave no answer within 290 s of warm-up,
    # while continuous batching answered (benchmarks/results/engine-gpu-h200.json).
    compile: Literal["auto", "on", "off"] = "auto"
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
        for name in value:
            check_name(name, "adapter name")
            if name == "__base__":
                raise ValueError("adapter name '__base__' is reserved (the plain base model)")
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
