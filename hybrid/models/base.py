"""Base models: the embedded SmolLM2 (GGUF, converted once to safetensors) or any HF model."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import torch
from filelock import FileLock

from hybrid.embedded import llm_gguf_path
from hybrid.models.cards import file_sha256
from hybrid.precision import DType, best_device, resolve_dtype

EMBEDDED_LLM = "embedded:SmolLM2-135M-Instruct"
EMBEDDED_LICENCE = "Apache-2.0"
log = logging.getLogger(__name__)

# Attention projections per architecture: LoRA there is the classic, cheap recipe. Anything
# unknown falls back to PEFT's "all-linear".
ATTENTION_TARGETS: dict[str, list[str]] = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mixtral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "phi3": ["qkv_proj", "o_proj"],
    "phi": ["q_proj", "k_proj", "v_proj", "dense"],
    "gpt2": ["c_attn", "attn.c_proj"],  # "c_proj" alone would also hit the MLP
    "gpt_neox": ["query_key_value", "dense"],
}


def cache_dir() -> Path:
    """Where converted models live: ``$HYBRID_CACHE_DIR`` or ``~/.cache/hybrid``."""
    return Path(os.environ.get("HYBRID_CACHE_DIR") or Path.home() / ".cache" / "hybrid")


def prepare_embedded(target: Path | None = None) -> Path:
    """Convert the embedded GGUF into a safetensors folder once; later calls return at once.

    GGUF-loaded models cannot ``save_pretrained``, so the weights are de-quantised, loaded into
    a model built from the same config without ``quantization_config``, and saved.
    Example: ``AutoModelForCausalLM.from_pretrained(prepare_embedded())``
    """
    gguf = llm_gguf_path()
    target = target or cache_dir() / "models" / "SmolLM2-135M-Instruct"
    marker = target / "hybrid-source.json"
    stamp = {"gguf": gguf.name, "size": gguf.stat().st_size}
    if marker.exists() and json.loads(marker.read_text()).get("size") == stamp["size"]:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):  # two processes must not convert at once
        if marker.exists() and json.loads(marker.read_text()).get("size") == stamp["size"]:
            return target
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.perf_counter()
        log.warning("converting %s to safetensors (once, ~20 s)", gguf.name)
        quantised = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        config = quantised.config
        del config.quantization_config
        config.name_or_path = EMBEDDED_LLM
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(quantised.state_dict())
        building = target.with_name(target.name + ".tmp")
        shutil.rmtree(building, ignore_errors=True)
        model.save_pretrained(building)
        tokenizer.save_pretrained(building)
        stamp |= {
            "sha256": file_sha256(gguf),
            "licence": EMBEDDED_LICENCE,
            "seconds": round(time.perf_counter() - started, 1),
        }
        (building / "hybrid-source.json").write_text(json.dumps(stamp, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(building, target)
    return target


def resolve_base(name: str) -> str:
    """A loadable path or hub id for ``name``; the embedded model is prepared on first use."""
    if name == EMBEDDED_LLM:
        return str(prepare_embedded())
    if name.startswith("embedded:"):
        raise ValueError(f"unknown embedded model {name!r}; known: {EMBEDDED_LLM!r}")
    return name


def base_model_hash(name: str) -> str:
    """A content hash that identifies the base weights (for adapter cards)."""
    if name == EMBEDDED_LLM:
        return json.loads((prepare_embedded() / "hybrid-source.json").read_text())["sha256"]
    path = Path(name)
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else []
    if not files:
        return f"hub:{name}"  # a hub id: the revision pins it, we cannot hash remote weights
    digest = hashlib.sha256()
    for file in files:
        digest.update(file_sha256(file).encode())
    return digest.hexdigest()


def check_quantization(quantization: str, device: str | None = None) -> None:
    """Refuse 4-bit loading where it cannot run: bitsandbytes NF4 needs CUDA and the package.

    Called before any data is prepared, so a QLoRA recipe on the wrong machine fails at once.
    """
    if quantization == "none":
        return
    device = device or best_device()
    if not device.startswith("cuda"):
        raise ValueError(
            f"train.quantization: {quantization!r} (QLoRA: a 4-bit base) needs a CUDA GPU; this "
            f"machine trains on {device!r}. Use quantization: none here."
        )
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise ImportError(
            f"train.quantization: {quantization!r} needs bitsandbytes: pip install bitsandbytes"
        )


def load_base(
    name: str, dtype: DType = "auto", device: str | None = None, quantization: str = "none"
):
    """(model, tokenizer) on the best device, bf16 where fast, SDPA attention; with
    ``quantization="nf4"`` the base is loaded in 4 bits (NF4, double quantisation, bf16
    compute) for QLoRA.

    Example: ``model, tokenizer = load_base("embedded:SmolLM2-135M-Instruct")``
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or best_device()
    check_quantization(quantization, device)
    path = resolve_base(name)
    if quantization == "nf4":
        from transformers import BitsAndBytesConfig

        four_bit = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        model = AutoModelForCausalLM.from_pretrained(
            path, quantization_config=four_bit, dtype=torch.bfloat16,
            attn_implementation="sdpa", device_map={"": device},
        )  # fmt: skip
    else:
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=resolve_dtype(dtype, device), attn_implementation="sdpa"
        ).to(device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def lora_targets(model_type: str, setting: str | tuple[str, ...] = "auto") -> list[str] | str:
    """Target modules for LoRA: explicit names, ``all-linear``, or per-architecture defaults."""
    if isinstance(setting, tuple):
        return list(setting)
    if setting == "all-linear":
        return "all-linear"
    return ATTENTION_TARGETS.get(model_type, "all-linear")
