"""A LoRA sequence classifier on the base LLM: the triage model (ticket -> intent).

One forward pass over the ticket and a linear head on its last token: tens of milliseconds on a
CPU, where generating the label would decode token by token. LoRA adapts the attention layers;
the head (``score``) is trained in full and saved with the adapter (PEFT ``modules_to_save``).
The folder holds the PEFT files, ``labels.json`` and ``card.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from hybrid.config import TrainConfig
from hybrid.models.base import lora_targets, resolve_base
from hybrid.precision import best_device, resolve_dtype

LABELS = "labels.json"


@dataclass(frozen=True)
class Labelled:
    text: str
    label: str


def _encode(tokenizer, rows: Sequence[Labelled], label2id: dict[str, int], max_length: int):
    from datasets import Dataset

    encoded = tokenizer([r.text for r in rows], truncation=True, max_length=max_length)
    return Dataset.from_dict({**encoded, "labels": [label2id[r.label] for r in rows]})


def _base(name: str, labels: list[str], dtype: str, device: str):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = resolve_base(name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(
        path,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        dtype=resolve_dtype(dtype, device),  # type: ignore[arg-type]
    ).to(device)
    model.config.pad_token_id = tokenizer.pad_token_id  # the head reads the last real token
    return model, tokenizer


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
        TrainingArguments,
    )

    labels = sorted({r.label for r in train})
    unknown = {r.label for r in validation} - set(labels)
    if unknown:
        raise ValueError(f"validation labels never seen in training: {sorted(unknown)}")
    started, device = time.perf_counter(), best_device()
    torch.manual_seed(config.seed)
    model, tokenizer = _base(config.base_model, labels, config.dtype, device)
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
    args = TrainingArguments(
        output_dir=str(folder / "checkpoints"),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size * 2,
        learning_rate=config.learning_rate,
        warmup_steps=int(config.warmup_ratio * config.max_steps),
        lr_scheduler_type="cosine",
        eval_strategy="steps" if has_eval else "no",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.eval_steps,
        save_total_limit=2,
        load_best_model_at_end=has_eval,
        metric_for_best_model="eval_loss",
        logging_steps=max(1, min(10, config.eval_steps)),
        seed=config.seed,
        use_cpu=not device.startswith("cuda"),
        bf16=device.startswith("cuda"),
        train_sampling_strategy="group_by_length",
        report_to=[],
        disable_tqdm=not progress,
        optim="adamw_torch_fused",
    )
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
    if trainer.is_world_process_zero():
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        (folder / LABELS).write_text(json.dumps(labels, indent=1) + "\n")
    import shutil

    shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    metrics["wall_seconds"] = round(time.perf_counter() - started, 1)
    return metrics


class Classifier:
    """A trained classifier, loaded once; ``predict`` is batched and thread-safe under the GIL's
    torch calls (no state changes after loading).

    Example: ``Classifier.load(Path("adapters/triage"), "embedded:SmolLM2-135M-Instruct")
    .predict(["where is my parcel"])[0]`` -> ``{"track_order": 0.97, ...}``
    """

    def __init__(self, model, tokenizer, labels: list[str], device: str):
        self.model, self.tokenizer, self.labels, self.device = model, tokenizer, labels, device

    @classmethod
    def load(cls, folder: Path, base_model: str, dtype: str = "auto") -> Classifier:
        from peft import PeftModel

        labels = json.loads((Path(folder) / LABELS).read_text())
        device = best_device()
        model, tokenizer = _base(base_model, labels, dtype, device)
        model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
        return cls(model.eval(), tokenizer, labels, device)

    @torch.inference_mode()
    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[dict[str, float]]:
        out: list[dict[str, float]] = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            ).to(self.device)
            probs = torch.softmax(self.model(**batch).logits.float(), dim=-1).cpu()
            out += [dict(zip(self.labels, row.tolist())) for row in probs]
        return out
