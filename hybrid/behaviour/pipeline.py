"""`hybrid train`: read, redact, refuse residual PII, split without leaks, tune, write the card."""

from __future__ import annotations

import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from hybrid.behaviour.data import Example, Message, read_examples
from hybrid.behaviour.splits import split_examples
from hybrid.behaviour.train import TrainResult, train_adapter
from hybrid.config import DataConfig, FeedbackData, HybridConfig
from hybrid.models.base import (
    EMBEDDED_LICENCE,
    EMBEDDED_LLM,
    base_model_hash,
    check_quantization,
)
from hybrid.models.cards import AdapterCard, Finding, file_sha256, write_card

if TYPE_CHECKING:  # heavy: imported where used
    from hybrid.behaviour.redact import Redactor
    from hybrid.knowledge.embedder import Embedder


class ResidualPII(ValueError):
    """Training data still holds PII; the message names the first offending lines."""


def redact_examples(examples: list[Example], redactor, progress: bool = False):
    """(redacted examples, RedactionReport, mappings): pseudonyms consistent per example."""
    from hybrid.behaviour.redact import RedactionReport

    report = RedactionReport()
    out, mappings = [], []
    for example in tqdm(examples, desc="redacting", disable=not progress, unit="ex"):
        result = redactor.redact_example([m.content for m in example.messages], example.keep)
        report.add(result)
        mappings.append(result.mapping)
        messages = tuple(Message(m.role, t) for m, t in zip(example.messages, result.turns))
        out.append(Example(messages, example.label, example.source, example.keep))
    return out, report, mappings


def scan_for_pii(
    examples: list[Example], redactor, limit: int = 5, progress: bool = False
) -> list[Finding]:
    """The first ``limit`` residual PII findings (the training gate)."""
    found: list[Finding] = []
    for example in tqdm(examples, desc="PII gate", disable=not progress, unit="ex"):
        for message in example.messages:
            for span in redactor.find_pii(message.content, example.keep):
                found.append(Finding(source=example.source, entity=span.entity, text=span.text))
                if len(found) >= limit:
                    return found
    return found


def gate(findings: list[Finding], allow_pii: str | None) -> None:
    if findings and not allow_pii:
        lines = "; ".join(f"{f.source}: {f.entity} {f.text!r}" for f in findings)
        raise ResidualPII(
            f"training data still contains PII ({lines}). Redact it first (`hybrid redact` or "
            'data.redact: true), or pass --allow-pii "<reason>" to train anyway.'
        )


def _conversations(examples: list[Example]) -> list[list[dict[str, str]]]:
    return [[{"role": m.role, "content": m.content} for m in e.messages] for e in examples]


@dataclass
class Prepared:
    """Training data after redaction, the PII gate and splitting, plus what the card records."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    card: dict


def prepare_data(config: HybridConfig, allow_pii: str | None, progress: bool) -> Prepared:
    """Instruction data (``data:``) or RAFT examples (``raft:``), gated on residual PII."""
    from hybrid.behaviour.redact import Redactor
    from hybrid.knowledge.embedder import Embedder

    redactor = Redactor(config.redaction)
    embedder = Embedder(config.embedder)
    if config.raft is not None:
        prepared = _prepare_raft(config, redactor, embedder, allow_pii, progress)
    else:
        prepared = _prepare_plain(config, redactor, embedder, allow_pii, progress)
    if config.feedback is not None:
        prepared = _with_feedback(prepared, config.feedback, redactor, allow_pii, progress)
    return prepared


def _with_feedback(
    prepared: Prepared,
    feedback: FeedbackData,
    redactor: Redactor,
    allow_pii: str | None,
    progress: bool,
) -> Prepared:
    """Agents' corrections (already redacted by the export) through the PII gate again, then
    into the training split only; the card counts them."""
    examples = read_examples(DataConfig(path=feedback.path, format="chat"))
    gate(scan_for_pii(examples, redactor, progress=progress), allow_pii)
    data = [*prepared.card.get("data", []), _data_file(feedback.path, len(examples))]
    card = prepared.card | {"data": data, "feedback_examples": len(examples) * feedback.repeat}
    train = prepared.train + examples * feedback.repeat
    return Prepared(train, prepared.validation, prepared.test, card)


def _data_file(path: Path, examples: int | None = None) -> dict:
    """A card's record of a training file: by content, so a changed file shows."""
    return {"path": str(path), "sha256": file_sha256(path), "examples": examples}


def _prepare_plain(
    config: HybridConfig,
    redactor: Redactor,
    embedder: Embedder,
    allow_pii: str | None,
    progress: bool,
) -> Prepared:
    """Instruction data (``data:``): redacted if asked, gated, split without leaks."""
    if config.data is None:
        raise ValueError("the recipe needs a data: section (or raft:) to train")
    examples = read_examples(config.data)
    redaction = None
    if config.data.redact:
        examples, report, _ = redact_examples(examples, redactor, progress)
        redaction = report.to_dict()
    findings = scan_for_pii(examples, redactor, progress=progress)
    gate(findings, allow_pii)
    split = split_examples(examples, config.split, embedder)
    return Prepared(
        split.train,
        split.validation,
        split.test,
        {
            "data": [_data_file(config.data.path, len(examples))],
            "redaction": redaction,
            "pii_gate": {"findings": findings, "allow_pii_reason": allow_pii},
            "leak_report": split.leak_report,
        },
    )


def _prepare_raft(
    config: HybridConfig,
    redactor: Redactor,
    embedder: Embedder,
    allow_pii: str | None,
    progress: bool,
) -> Prepared:
    """RAFT examples (``raft:``) through redaction and the PII gate, with their provenance."""
    from hybrid.behaviour.raft import build_raft

    raft = build_raft(config, embedder, progress)
    # Public policies still name people and contact points: redact like any training data.
    train, report, _ = redact_examples(raft.train, redactor, progress)
    validation, _, _ = redact_examples(raft.validation, redactor, progress)
    findings = scan_for_pii(train + validation, redactor, progress=progress)
    gate(findings, allow_pii)
    paths = [s.path for s in config.raft.sources] + [
        f for s in config.raft.sources if s.docs for f in sorted(s.docs.rglob("*"))
    ]
    return Prepared(
        train,
        validation,
        raft.test,
        {
            "data": [_data_file(p) for p in paths if p.is_file()],
            "raft": config.raft.model_dump(mode="json")
            | {
                "snapshot": raft.snapshot,
                # the prompts' shape: serve with the same evidence settings and template
                "routes": {
                    s.route: config.routes[s.route].model_dump(mode="json")
                    for s in config.raft.sources
                },
            },
            "redaction": report.to_dict(),
            "pii_gate": {"findings": findings, "allow_pii_reason": allow_pii},
        },
    )


def distributed():
    """accelerate's process state under torchrun / accelerate launch (WORLD_SIZE > 1), else
    None. CPU ranks talk over gloo, CUDA ranks over NCCL; HF Trainer shares this state."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    from accelerate import PartialState

    from hybrid.precision import best_device

    return PartialState(cpu=best_device() == "cpu")


def run_training(
    config: HybridConfig,
    allow_pii: str | None = None,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """The whole `hybrid train` job for one recipe; returns where the adapter went.

    Under ``torchrun`` / ``accelerate launch`` (WORLD_SIZE > 1) every rank trains its share of
    each batch (data parallel, HF Trainer's DDP); rank 0 prepares the data first (the others
    then find the RAFT indexes built), and only rank 0 writes the adapter, its card and logs.
    """
    if allow_pii is not None and not allow_pii.strip():
        raise ValueError('--allow-pii needs a reason, e.g. --allow-pii "synthetic names only"')
    started = time.perf_counter()
    train_cfg = config.train
    check_quantization(train_cfg.quantization)  # before minutes of data preparation
    adapter_dir = train_cfg.adapters_dir / train_cfg.adapter_name
    ranks = distributed()
    main = ranks is None or ranks.is_main_process
    with ranks.main_process_first() if ranks is not None else nullcontext():
        prepared = prepare_data(config, allow_pii, progress and main)
    if not prepared.train:
        raise ValueError("the training split is empty")
    if main and adapter_dir.exists() and not resume:
        shutil.rmtree(adapter_dir)  # a fresh run replaces the old artefact
    if main:
        adapter_dir.mkdir(parents=True, exist_ok=True)
    if ranks is not None:
        ranks.wait_for_everyone()
    result = train_adapter(
        train_cfg,
        _conversations(prepared.train),
        _conversations(prepared.validation),
        adapter_dir,
        resume,
        progress,
    )
    if not main:
        return result
    shutil.rmtree(adapter_dir / "checkpoints", ignore_errors=True)  # the best one is saved
    embedded = train_cfg.base_model == EMBEDDED_LLM
    card = {
        "name": train_cfg.adapter_name,
        "base_model": train_cfg.base_model,
        "base_model_hash": base_model_hash(train_cfg.base_model),
        "base_model_licence": EMBEDDED_LICENCE if embedded else "see the model's own card",
        **prepared.card,
        "splits": {
            "train": len(prepared.train),
            "validation": len(prepared.validation),
            "test": len(prepared.test),
        },
        "hyperparameters": train_cfg.model_dump(mode="json"),
        "metrics": result.metrics,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    write_card(adapter_dir, AdapterCard.model_validate(card))
    return result
