"""A LoRA sequence classifier on the base LLM, trained: the triage model (ticket -> intent).

One forward pass over the ticket and a linear head on its last token: tens of milliseconds on a
CPU, where generating the label would decode token by token. LoRA adapts the layers; the head
(``score``) is trained in full and saved with the adapter (PEFT ``modules_to_save``). The folder
holds the PEFT files and ``labels.json``; ``hybrid.models.classifier.Classifier`` loads it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from hybrid.behaviour.train import schedule
from hybrid.config import TrainConfig
from hybrid.models.base import lora_targets
from hybrid.models.classifier import LABELS, base_classifier
from hybrid.precision import best_device


@dataclass(frozen=True)
class Labelled:
    text: str
    label: str


def _encode(tokenizer, rows: Sequence[Labelled], label2id: dict[str, int], max_length: int):
    from datasets import Dataset

    encoded = tokenizer([r.text for r in rows], truncation=True, max_length=max_length)
    return Dataset.from_dict({**encoded, "labels": [label2id[r.label] for r in rows]})


def train_classifier(
    config: TrainConfig,
    train: Sequence[Labelled],
    validation: Sequence[Labelled],
    folder: Path,
    progress: bool = True,
) -> dict:
    """Train and save a classifier over the labels seen in ``train``; returns its metrics.

    Example: ``train_classifier(TrainConfig(max_steps=300), rows, held, Path("adapters/triage"))``
    """
    from peft import LoraConfig, get_peft_model
    from transformers import (
        DataCollatorWithPadding,
        EarlyStoppingCallback,
        Trainer,
    )

    labels = sorted({r.label for r in train})
    unknown = {r.label for r in validation} - set(labels)
    if unknown:
        raise ValueError(f"validation labels never seen in training: {sorted(unknown)}")
    started, device = time.perf_counter(), best_device()
    torch.manual_seed(config.seed)
    model, tokenizer = base_classifier(config.base_model, labels, config.dtype, device)
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=lora_targets(model.config.model_type, config.lora.target_modules),
        task_type="SEQ_CLS",  # keeps the new head trainable and saved (modules_to_save)
    )
    model = get_peft_model(model, lora)
    label2id = {label: i for i, label in enumerate(labels)}
    has_eval = bool(validation)
    args = _arguments(config, folder / "checkpoints", has_eval, device, progress)
    callbacks = [EarlyStoppingCallback(config.early_stopping_patience)] if has_eval else []
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=_encode(tokenizer, train, label2id, config.max_length),
        eval_dataset=_encode(tokenizer, validation, label2id, config.max_length)
        if has_eval
        else None,
        data_collator=DataCollatorWithPadding(tokenizer),
        callbacks=callbacks,
    )
    output = trainer.train()
    metrics = {"train_loss": output.training_loss, "steps": trainer.state.global_step}
    if has_eval:
        metrics["val_loss"] = trainer.evaluate()["eval_loss"]
    # Stored in the base's dtype (half the size in bf16), like the answerer; the tokenizer is
    # the base model's own, so it is not copied.
    base_dtype = model.get_base_model().dtype
    for parameter in model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.to(base_dtype)
    if trainer.is_world_process_zero():
        model.save_pretrained(folder)
        (folder / LABELS).write_text(json.dumps(labels, indent=1) + "\n")
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    metrics["wall_seconds"] = round(time.perf_counter() - started, 1)
    return metrics


def _arguments(config: TrainConfig, output_dir: Path, has_eval: bool, device: str, progress: bool):
    """HF TrainingArguments from the recipe: cosine schedule, the best checkpoint by validation
    loss, length-grouped batches, fused AdamW (as the SFT recipe)."""
    from transformers import TrainingArguments

    return TrainingArguments(
        **schedule(config, output_dir, has_eval),
        use_cpu=not device.startswith("cuda"),
        bf16=device.startswith("cuda"),
        train_sampling_strategy="group_by_length",
        report_to=[],
        disable_tqdm=not progress,
        optim="adamw_torch_fused",
    )
