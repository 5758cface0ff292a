"""8B-class recipes name modules that exist in their architecture: checked against the model's
published config, built on the meta device (no weights downloaded, no memory used)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig

from hybrid.config import load_config
from hybrid.models.base import lora_targets

REPO = Path(__file__).resolve().parents[2]
# meta-llama/Llama-3.1-8B-Instruct's config.json (the fields that shape the modules).
LLAMA_31_8B = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "rope_theta": 500000.0,
    "rope_scaling": {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "tie_word_embeddings": False,
}
RECIPES = sorted((REPO / "configs").glob("llama-8b-*.yaml"))


@pytest.fixture(scope="module")
def llama_8b_modules() -> set[str]:
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(LlamaConfig(**LLAMA_31_8B))
    count = sum(p.numel() for p in model.parameters())
    assert 7.9e9 < count < 8.1e9  # the real shape: 8.03B parameters
    return {name for name, _ in model.named_modules()}


def test_there_are_8b_recipes_for_each_use():
    names = {p.stem for p in RECIPES}
    assert {"llama-8b-support", "llama-8b-raft", "llama-8b-serve", "llama-8b-vllm"} <= names
    assert load_config(REPO / "configs" / "llama-8b-vllm.yaml").runtime.engine == "openai"
    serve = load_config(REPO / "configs" / "llama-8b-serve.yaml").runtime
    assert serve.base_model == "meta-llama/Llama-3.1-8B-Instruct" and serve.device == "cuda"


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_lora_targets_exist_in_the_architecture(path, llama_8b_modules):
    config = load_config(path)
    if config.data is None and config.raft is None:
        return  # a serving recipe: nothing to train
    assert config.train.base_model == "meta-llama/Llama-3.1-8B-Instruct"
    targets = lora_targets("llama", config.train.lora.target_modules)
    if targets == "all-linear":
        return  # PEFT finds them itself
    for target in targets:
        hits = [m for m in llama_8b_modules if m == target or m.endswith("." + target)]
        assert len(hits) == 32, (path.name, target)  # one per decoder layer
