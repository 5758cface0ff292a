"""`hybrid train` end to end on a tiny model: the PII gate, redaction, the adapter card."""

import json

import pytest

from hybrid.behaviour.pipeline import ResidualPII, run_training
from hybrid.config import parse_config
from hybrid.models.cards import read_card

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _write_chat(path, with_pii: bool):
    lines = []
    for i in range(40):
        user = f"Can you check order {1000 + i} for me?"
        if with_pii and i == 1:
            user = "Please email jane.doe@example.com about order 1001."
        lines.append(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": user},
                        {"role": "assistant", "content": f"Order {1000 + i} ships tomorrow."},
                    ]
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(tmp_path, tiny_llama, data_path, redact: bool):
    return parse_config(
        {
            "data": {"path": str(data_path), "redact": redact},
            "split": {"validation": 0.2, "test": 0.0, "near_duplicate_cosine": 0.999},
            "train": {
                "base_model": str(tiny_llama),
                "adapter_name": "t",
                "max_steps": 2,
                "batch_size": 4,
                "eval_steps": 1,
                "max_length": 64,
                "dtype": "fp32",
                "adapters_dir": str(tmp_path / "adapters"),
            },
        }
    )


def test_gate_refuses_residual_pii_naming_the_line(tmp_path, tiny_llama):
    config = _config(tmp_path, tiny_llama, _write_chat(tmp_path / "d.jsonl", True), False)
    with pytest.raises(ResidualPII, match=r"d\.jsonl:2: EMAIL_ADDRESS 'jane\.doe@example\.com'"):
        run_training(config, progress=False)
    assert not (tmp_path / "adapters" / "t").exists()  # nothing trained


def test_allow_pii_reason_goes_into_the_card(tmp_path, tiny_llama):
    config = _config(tmp_path, tiny_llama, _write_chat(tmp_path / "d.jsonl", True), False)
    with pytest.raises(ValueError, match="needs a reason"):
        run_training(config, allow_pii="  ", progress=False)
    result = run_training(config, allow_pii="synthetic test address", progress=False)
    card = read_card(result.adapter_dir)
    assert card.pii_gate is not None
    assert card.pii_gate.allow_pii_reason == "synthetic test address"
    assert card.pii_gate.findings[0].entity == "EMAIL_ADDRESS"
    assert card.base_model_hash and card.leak_report and card.hyperparameters and card.metrics
    assert card.libraries["torch"] and card.wall_seconds is not None
    assert card.data[0].sha256 and card.splits["train"] > 0


def test_redacted_data_passes_the_gate(tmp_path, tiny_llama):
    config = _config(tmp_path, tiny_llama, _write_chat(tmp_path / "d.jsonl", True), True)
    result = run_training(config, progress=False)
    card = read_card(result.adapter_dir)
    assert card.redaction is not None and card.redaction.counts["EMAIL_ADDRESS"] == 1
    assert card.pii_gate is not None and card.pii_gate.findings == []
