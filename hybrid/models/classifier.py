"""A trained sequence classifier (``behaviour/classifier.py`` trains it), loaded for inference.

Model loading is the ground floor: the router's triage and the server load it from here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from hybrid.models.base import resolve_base
from hybrid.precision import best_device, resolve_dtype

LABELS = "labels.json"


def base_classifier(name: str, labels: list[str], dtype: str, device: str):
    """(sequence-classification model with a fresh head over ``labels``, tokenizer)."""
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
        model, tokenizer = base_classifier(base_model, labels, dtype, device)
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
