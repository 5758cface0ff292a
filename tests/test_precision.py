import torch

from hybrid.precision import cpu_has_fast_bf16, resolve_dtype


def test_explicit_dtypes_win():
    assert resolve_dtype("fp32", "cuda") is torch.float32
    assert resolve_dtype("bf16", "cpu") is torch.bfloat16


def test_auto_follows_hardware():
    assert resolve_dtype("auto", "cuda") is torch.bfloat16
    expected = torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    assert resolve_dtype("auto", "cpu") is expected
    assert resolve_dtype("auto", "mps") is torch.float32
