"""LoRA instruction tuning with TRL's SFTTrainer: assistant-only loss, early stopping, resume."""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from hybrid.behaviour.masking import tokenise
from hybrid.config import TrainConfig
from hybrid.models.base import load_base, lora_targets
from hybrid.precision import best_device

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a run produced; ``metrics`` goes into the adapter card."""

    adapter_dir: Path
    metrics: dict = field(default_factory=dict)


def to_token_dataset(conversations: list[list[dict[str, str]]], tokenizer, max_length: int):
    """A pre-tokenised ``datasets.Dataset`` (input_ids, assistant_masks) for SFTTrainer.

    The mask is ours (see masking.py), so TRL never needs ``{% generation %}`` markers.
    Conversations whose assistant text is truncated away entirely are dropped.
    """
    from datasets import Dataset

    rows = {"input_ids": [], "assistant_masks": []}
    for messages in conversations:
        item = tokenise(tokenizer, messages, max_length)
        if any(item.assistant_masks):
            rows["input_ids"].append(item.input_ids)
            rows["assistant_masks"].append(item.assistant_masks)
    if not rows["input_ids"]:
        raise ValueError("no example has assistant tokens within train.max_length")
    return Dataset.from_dict(rows)


def schedule(config: TrainConfig, output_dir: Path, has_eval: bool) -> dict:
    """What every trainer of this project shares (SFT and the classifier): steps, batch,
    cosine schedule with warm-up, evaluation and checkpoints every ``eval_steps``, the best
    checkpoint by validation loss restored at the end."""
    return {
        "output_dir": str(output_dir),
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation,
        "learning_rate": config.learning_rate,
        "warmup_steps": int(config.warmup_ratio * config.max_steps),
        "lr_scheduler_type": "cosine",
        "logging_steps": max(1, min(10, config.eval_steps)),
        "eval_strategy": "steps" if has_eval else "no",
        "eval_steps": config.eval_steps,
        "save_strategy": "steps",
        "save_steps": config.eval_steps,
        "save_total_limit": 2,
        "load_best_model_at_end": has_eval,
        "metric_for_best_model": "eval_loss",
        "greater_is_better": False,
        "seed": config.seed,
    }


def sft_arguments(config: TrainConfig, output_dir: Path, has_eval: bool, progress: bool):
    """This project's recipe as an SFTConfig: weights already in bf16 where fast (no autocast),
    no gradient checkpointing at small scale, length-grouped padded batches, padding-free only
    where the attention kernel respects sequence boundaries (flash-attn on CUDA)."""
    from trl import SFTConfig

    cuda = best_device() == "cuda"
    padding_free = cuda and importlib.util.find_spec("flash_attn") is not None
    return SFTConfig(
        **schedule(config, output_dir, has_eval),
        data_seed=config.seed,
        bf16=cuda,  # CPU: the weights are bf16 already; autocast would only add casts
        use_cpu=not cuda,
        gradient_checkpointing=config.gradient_checkpointing,
        max_length=config.max_length,
        packing=False,
        padding_free=padding_free,
        # Batches padded to their longest row take a new shape nearly every step; the allocator
        # then maps and frees gigabytes a step (logits alone are 8 x 768 x 49k) and fragments:
        # RSS crept to 22 GB in a 48-min RAFT run. 64-token steps bound the shapes (12 at 768).
        pad_to_multiple_of=None if padding_free else 64,
        train_sampling_strategy="random" if padding_free else "group_by_length",
        assistant_only_loss=False,  # our own mask arrives as the assistant_masks column
        report_to=[],
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        save_only_model=False,
        optim="adamw_torch_fused",  # one fused kernel per step instead of per-tensor loops
    )


def _plain_loss_trainer():
    """SFTTrainer whose training loss is the model's own cross-entropy.

    TRL's default loss runs a fused LM head that also computes entropy and token accuracy for
    its logs; on a 2-core CPU that bookkeeping cost ~25% of step time (measured with
    benchmarks/bench_train.py), so training steps skip it. Evaluation keeps TRL's path.
    """
    from transformers import Trainer
    from trl import SFTTrainer

    class PlainLossSFTTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if not model.training:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    return PlainLossSFTTrainer


def build_trainer(
    config: TrainConfig,
    train: list[list[dict[str, str]]],
    validation: list[list[dict[str, str]]],
    output_dir: Path,
    progress: bool = True,
):
    """(SFTTrainer, tokenizer) for this project's recipe: base model, LoRA, our masks."""
    from peft import LoraConfig, get_peft_model
    from transformers import EarlyStoppingCallback

    torch.manual_seed(config.seed)
    model, tokenizer = load_base(config.base_model, config.dtype, quantization=config.quantization)
    if config.quantization != "none":
        from peft import prepare_model_for_kbit_training

        # fp32 norms and an input-grad hook, so LoRA trains through the frozen 4-bit layers.
        model = prepare_model_for_kbit_training(model, config.gradient_checkpointing)
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=lora_targets(model.config.model_type, config.lora.target_modules),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    train_set = to_token_dataset(train, tokenizer, config.max_length)
    val_set = to_token_dataset(validation, tokenizer, config.max_length) if validation else None
    callbacks = []
    if val_set is not None and config.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(config.early_stopping_patience))
    trainer = _plain_loss_trainer()(
        model=model,
        args=sft_arguments(config, output_dir, val_set is not None, progress),
        train_dataset=train_set,
        eval_dataset=val_set,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    return trainer, tokenizer


def train_adapter(
    config: TrainConfig,
    train: list[list[dict[str, str]]],
    validation: list[list[dict[str, str]]],
    adapter_dir: Path,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Tune a LoRA adapter on conversations; saves PEFT files to ``adapter_dir``.

    Example: ``train_adapter(TrainConfig(max_steps=50), train, val, Path("adapters/x"))``
    """
    started = time.perf_counter()
    checkpoints = adapter_dir / "checkpoints"
    trainer, tokenizer = build_trainer(config, train, validation, checkpoints, progress)
    train_set, val_set = trainer.train_dataset, trainer.eval_dataset
    metrics: dict = {"train_examples": len(train_set), "validation_examples": len(val_set or [])}
    if val_set is not None:
        metrics["val_loss_before"] = trainer.evaluate()["eval_loss"]
    resume_from = resume and any(checkpoints.glob("checkpoint-*"))
    output = trainer.train(resume_from_checkpoint=True if resume_from else None)
    metrics |= {
        "train_loss": output.training_loss,
        "steps": trainer.state.global_step,
        "best_checkpoint": trainer.state.best_model_checkpoint,
    }
    if val_set is not None:
        metrics["val_loss_after"] = trainer.evaluate()["eval_loss"]  # the restored best model
    # TRL folded our assistant_masks into labels (-100 = not trained on).
    trained_tokens = sum(sum(t != -100 for t in row) for row in train_set["labels"])
    model = trainer.model
    metrics |= {
        "trained_tokens_per_epoch": trained_tokens,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "device": str(model.device),
        "dtype": str(model.dtype).removeprefix("torch."),
        "quantization": config.quantization,
    }
    # PEFT trains the adapter in fp32 on a bf16 base; it serves in the base's dtype, so store it
    # that way (half the size: the shipped answerer is a file in the repository).
    base_dtype = model.get_base_model().dtype
    for parameter in model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.to(base_dtype)
    metrics["adapter_sha256"] = adapter_digest(model)  # equal on every rank after DDP
    log.info(
        "rank %d: adapter weights sha256 %s", trainer.args.process_index, metrics["adapter_sha256"]
    )
    if trainer.is_world_process_zero():  # data parallel: one rank writes
        model.save_pretrained(adapter_dir)
        tokenizer.save_pretrained(adapter_dir)
    return TrainResult(adapter_dir, metrics)


def adapter_digest(model) -> str:
    """sha256 over the trainable (LoRA) tensors in name order: ranks that agree match."""
    import hashlib

    digest = hashlib.sha256()
    for name, parameter in sorted(model.named_parameters()):
        if parameter.requires_grad:
            digest.update(name.encode())
            digest.update(parameter.detach().to(torch.float32).cpu().numpy().tobytes())
    return digest.hexdigest()
