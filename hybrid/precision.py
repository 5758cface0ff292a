"""Pick the compute dtype: bf16 where the hardware runs it fast, fp32 elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

# Config validates against DType; importing config must not load torch (1.3 s), so torch is
# imported inside the functions that need it.
DType = Literal["auto", "bf16", "fp32"]


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 matmul (AVX512-BF16 or AMX), where bf16 beats fp32.

    Example: ``torch.bfloat16 if cpu_has_fast_bf16() else torch.float32``
    """
    import torch

    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def best_device() -> str:
    """CUDA, then MPS, then CPU."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(dtype: DType, device: str) -> torch.dtype:
    """``auto`` means bf16 on CUDA and on bf16-capable CPUs, fp32 otherwise."""
    import torch

    if dtype == "bf16":
        return torch.bfloat16
    if dtype == "fp32":
        return torch.float32
    if device.startswith("cuda"):
        return torch.bfloat16
    if device == "cpu" and cpu_has_fast_bf16():
        return torch.bfloat16
    return torch.float32
