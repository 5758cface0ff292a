import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from hybrid.models.base import EMBEDDED_LLM, lora_targets, resolve_base

SMALL = dict(
    vocab_size=128,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)

ARCHITECTURES = {
    "llama": (LlamaForCausalLM, LlamaConfig(**SMALL), {"q_proj", "k_proj", "v_proj", "o_proj"}),
    "mistral": (
        MistralForCausalLM,
        MistralConfig(**SMALL),
        {"q_proj", "k_proj", "v_proj", "o_proj"},
    ),
    "qwen2": (Qwen2ForCausalLM, Qwen2Config(**SMALL), {"q_proj", "k_proj", "v_proj", "o_proj"}),
    "phi3": (Phi3ForCausalLM, Phi3Config(**SMALL, pad_token_id=0), {"qkv_proj", "o_proj"}),
    "gpt2": (
        GPT2LMHeadModel,
        GPT2Config(vocab_size=128, n_embd=32, n_layer=2, n_head=4, n_positions=64),
        {"c_attn", "c_proj"},
    ),
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_lora_attaches_to_attention_of_each_architecture(name):
    cls, config, expected = ARCHITECTURES[name]
    torch.manual_seed(0)
    model = cls(config)
    targets = lora_targets(model.config.model_type)
    peft = get_peft_model(model, LoraConfig(r=4, target_modules=targets, task_type="CAUSAL_LM"))
    wrapped = {n.split(".")[-1] for n, m in peft.named_modules() if hasattr(m, "lora_A")}
    assert wrapped == expected
    if name == "gpt2":  # attention c_proj only, never the MLP's c_proj
        assert not any("mlp" in n for n, m in peft.named_modules() if hasattr(m, "lora_A"))
    trainable = sum(p.numel() for p in peft.parameters() if p.requires_grad)
    assert 0 < trainable < sum(p.numel() for p in peft.parameters()) / 2
    ids = torch.randint(0, 128, (2, 8))
    assert peft(input_ids=ids).logits.shape == (2, 8, 128)


def test_target_settings():
    assert lora_targets("llama", "all-linear") == "all-linear"
    assert lora_targets("llama", ("q_proj",)) == ["q_proj"]
    assert lora_targets("some-new-arch") == "all-linear"


def test_unknown_embedded_model_is_a_value_error():
    with pytest.raises(ValueError, match="unknown embedded model"):
        resolve_base("embedded:nope")
    assert resolve_base("Qwen/Qwen2-0.5B-Instruct") == "Qwen/Qwen2-0.5B-Instruct"


@pytest.mark.integration
def test_embedded_model_converts_once_and_generates(smol_dir):
    from hybrid.models.base import load_base, prepare_embedded

    assert (smol_dir / "model.safetensors").is_file() and prepare_embedded() == smol_dir
    model, tokenizer = load_base(EMBEDDED_LLM, dtype="fp32")
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 30
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=24, do_sample=False)
    answer = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer  # the de-quantised weights are the real model
