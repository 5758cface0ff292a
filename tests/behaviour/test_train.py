"""A tiny random 2-layer Llama learns a trivial task; the adapter reloads with plain PEFT."""

import json
import random

import pytest
import torch

from hybrid.behaviour.train import to_token_dataset, train_adapter
from hybrid.config import LoraSettings, TrainConfig
from hybrid.models.cards import AdapterCard, list_adapters, read_card, write_card

pytestmark = pytest.mark.slow
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white"]


def _conversations(n: int, seed: int) -> list[list[dict[str, str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        colour = rng.choice(COLOURS)
        out.append(
            [
                {"role": "user", "content": f"Repeat the colour: {colour}"},
                {"role": "assistant", "content": f"The colour is {colour}."},
            ]
        )
    return out


def test_tiny_model_learns_and_adapter_reloads(tmp_path, tiny_llama):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = TrainConfig(
        base_model=str(tiny_llama),
        max_steps=30,
        batch_size=8,
        eval_steps=10,
        learning_rate=1e-2,
        max_length=64,
        warmup_ratio=0.0,
        dtype="fp32",
        lora=LoraSettings(r=8, alpha=16, dropout=0.0, target_modules="all-linear"),
    )
    adapter = tmp_path / "adapter"
    result = train_adapter(
        config, _conversations(96, 1), _conversations(16, 2), adapter, progress=False
    )
    metrics = result.metrics
    assert metrics["val_loss_after"] < metrics["val_loss_before"] - 0.5, metrics
    assert metrics["steps"] <= 30 and metrics["best_checkpoint"]
    assert (adapter / "adapter_config.json").is_file()

    # Plain PEFT, no hybrid code: the artefact is a standard adapter.
    base = AutoModelForCausalLM.from_pretrained(tiny_llama)
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    ids = tokenizer("Repeat the colour: red", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        before = base(ids).logits
        tuned = PeftModel.from_pretrained(base, str(adapter))
        after = tuned(ids).logits
    assert not torch.allclose(before, after, atol=1e-4)

    # --merge: base + adapter as one standalone model with the same outputs.
    from hybrid.behaviour.adapters import merge

    write_card(adapter, AdapterCard(name="adapter", base_model=str(tiny_llama)))
    merged_dir = merge(adapter, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, after, atol=1e-3)
    assert read_card(merged_dir).merged_from == str(adapter)


def test_resume_from_checkpoint(tmp_path, tiny_llama):
    config = TrainConfig(
        base_model=str(tiny_llama),
        max_steps=6,
        batch_size=4,
        eval_steps=3,
        max_length=64,
        dtype="fp32",
        early_stopping_patience=0,
    )
    adapter = tmp_path / "adapter"
    first = train_adapter(
        config, _conversations(24, 3), _conversations(8, 4), adapter, progress=False
    )
    assert first.metrics["steps"] == 6
    longer = config.model_copy(update={"max_steps": 9})
    resumed = train_adapter(
        longer, _conversations(24, 3), _conversations(8, 4), adapter, resume=True, progress=False
    )
    assert resumed.metrics["steps"] == 9  # continued from checkpoint-6, not from zero


def test_token_dataset_drops_examples_without_assistant_tokens(smol_tokenizer):
    long_prompt = [
        {"role": "user", "content": "word " * 200},
        {"role": "assistant", "content": "ok"},
    ]
    data = to_token_dataset([long_prompt, *_conversations(2, 5)], smol_tokenizer, max_length=64)
    assert len(data) == 2 and set(data.column_names) == {"input_ids", "assistant_masks"}
    with pytest.raises(ValueError, match="max_length"):
        to_token_dataset([long_prompt], smol_tokenizer, max_length=64)


def test_card_round_trip(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    card = AdapterCard(name="a", base_model="x", metrics={"val_loss_after": 1.5})
    write_card(folder, card)
    read = read_card(folder)
    assert read.metrics == {"val_loss_after": 1.5} and read.libraries["torch"] and read.created_at
    assert json.loads((folder / "card.json").read_text())["name"] == "a"
    assert [(p.name, c.name) for p, c in list_adapters(tmp_path)] == [("a", "a")]
    with pytest.raises(FileNotFoundError):
        read_card(tmp_path)


def test_a_card_that_is_not_one_names_the_file_and_field(tmp_path):
    (tmp_path / "card.json").write_text(json.dumps({"name": "a", "base_model": 3}))
    with pytest.raises(ValueError, match=r"card\.json: base_model: Input should be a valid string"):
        read_card(tmp_path)
    # a newer hybrid's keys are kept, not refused
    (tmp_path / "card.json").write_text(json.dumps({"name": "a", "base_model": "x", "new": 1}))
    assert read_card(tmp_path).model_extra == {"new": 1}


def test_qlora_is_refused_where_it_cannot_run(tmp_path, monkeypatch):
    from hybrid.behaviour.pipeline import run_training
    from hybrid.config import parse_config
    from hybrid.models.base import check_quantization

    check_quantization("none", "cpu")  # plain LoRA: anywhere
    with pytest.raises(ValueError, match=r"train\.quantization: 'nf4' .* needs a CUDA GPU"):
        check_quantization("nf4", "cpu")
    # On a CUDA machine without bitsandbytes: an install hint, not a traceback from inside.
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install bitsandbytes"):
        check_quantization("nf4", "cuda")
    monkeypatch.undo()
    recipe = parse_config(
        {
            "data": {"path": str(tmp_path / "never-read.jsonl")},
            "train": {"quantization": "nf4", "adapters_dir": str(tmp_path / "adapters")},
        }
    )
    with pytest.raises(ValueError, match="needs a CUDA GPU"):  # before any data is read
        run_training(recipe, progress=False)
    assert not (tmp_path / "adapters").exists()


def test_cpu_batches_come_in_a_few_shapes(tmp_path, tiny_llama):
    """Batches padded only to their longest row take a new shape nearly every step, and the CPU
    allocator fragments on them (RSS grew 8.2 -> 8.8 GB in 20 RAFT steps); 64-token steps keep
    the shapes few (RSS flat over 36 steps)."""
    from hybrid.behaviour.train import build_trainer

    config = TrainConfig(base_model=str(tiny_llama), max_steps=1, batch_size=4, max_length=256)
    lengths = [3, 17, 40, 90]  # words per answer: rows of very different lengths
    conversations = [
        [
            {"role": "user", "content": "Say some colours."},
            {"role": "assistant", "content": " ".join(COLOURS[i % 8] for i in range(n))},
        ]
        for n in lengths
    ]
    trainer, _ = build_trainer(config, conversations, [], tmp_path, progress=False)
    widths = {batch["input_ids"].shape[1] for batch in trainer.get_train_dataloader()}
    assert widths and all(width % 64 == 0 for width in widths), widths
