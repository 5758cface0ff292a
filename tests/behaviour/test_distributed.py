"""Data-parallel training on the CPU: two ranks under torchrun (gloo), one recipe, one adapter.

The GPU path is the same code under NCCL (`torchrun --nproc_per_node N -m ...` or `accelerate
launch`); here two processes share the 2 cores, so this checks agreement, not speed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hybrid.behaviour.train import adapter_digest
from hybrid.models.cards import read_card
from tests.behaviour.test_pipeline import _write_chat

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUNNER = """import logging, sys
logging.basicConfig(level=logging.INFO, format="%(message)s")
from hybrid.cli import main
sys.argv = ["hybrid", *sys.argv[1:]]
main()
"""


def test_two_ranks_train_one_adapter_that_reloads(tmp_path, tiny_llama):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    recipe = {
        "data": {"path": str(_write_chat(tmp_path / "d.jsonl", False))},
        "split": {"validation": 0.2, "test": 0.0, "near_duplicate_cosine": 0.999},
        "train": {
            "base_model": str(tiny_llama),
            "adapter_name": "ddp",
            "max_steps": 3,
            "batch_size": 2,
            "eval_steps": 1,
            "max_length": 64,
            "dtype": "fp32",
            "adapters_dir": str(tmp_path / "adapters"),
        },
    }
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    (tmp_path / "runner.py").write_text(RUNNER)
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--standalone", "--nproc_per_node", "2", str(tmp_path / "runner.py")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*command, "train", str(tmp_path / "recipe.yaml")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    digests = dict(re.findall(r"rank (\d): adapter weights sha256 ([0-9a-f]{64})", done.stderr))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]  # the ranks agree

    folder = tmp_path / "adapters" / "ddp"
    [written] = list((tmp_path / "adapters").iterdir())  # one adapter, one card, by rank 0
    assert written == folder and not (folder / "checkpoints").exists()
    card = read_card(folder)
    assert card.metrics["adapter_sha256"] == digests["0"] and card.metrics["steps"] == 3
    base = AutoModelForCausalLM.from_pretrained(tiny_llama)
    reloaded = PeftModel.from_pretrained(base, str(folder), is_trainable=True)
    assert adapter_digest(reloaded) == digests["0"]
