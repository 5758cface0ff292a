"""`hybrid eval triage`: which model routes a support ticket to its intent, on held-out tickets.

Arms, on the same split of the Bitext dialogues (stratified by intent; training text redacted,
held-out tickets as customers write them): ``lora`` (a LoRA sequence classifier on the base LLM,
``behaviour/classifier.py``), ``embedding`` (MiniLM sentence embeddings + logistic regression),
``zero-shot`` (the base LLM asked to name the intent from the list). Category = the intent's
category (each intent belongs to one). Reported per arm: macro-F1 over intents and categories,
accuracy, and single-ticket latency on this machine; a confusion matrix PNG for the best arm.
"""

from __future__ import annotations

import csv
import difflib
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hybrid.behaviour.classifier import Labelled, train_classifier
from hybrid.config import TRIAGE_METRICS, LoraSettings, TrainConfig, TriageConfig, TriageGate
from hybrid.datasets.qa_sets import fraction
from hybrid.evals.results import TriageArm
from hybrid.models.cards import AdapterCard, DataFile, HeldOut, file_sha256, write_card
from hybrid.models.classifier import Classifier

ARMS = ("lora", "embedding", "zero-shot")


@dataclass(frozen=True)
class Ticket:
    text: str
    intent: str
    category: str


def read_bitext(path: Path) -> list[Ticket]:
    """Bitext's CSV: ``instruction`` (the customer's text), ``intent``, ``category``."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"instruction", "intent", "category"} - set(rows[0] if rows else {})
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return [Ticket(r["instruction"].strip(), r["intent"], r["category"]) for r in rows]


def split(tickets: Sequence[Ticket], held_out: float, seed: int) -> tuple[list, list]:
    """(train, test): within each intent, the share ``held_out`` by a stable hash of the text."""
    train, test = [], []
    for t in tickets:
        (test if fraction(t.intent + "\x00" + t.text, seed) < held_out else train).append(t)
    return train, test


def prepare(
    tickets: Sequence[Ticket], held_out: float, seed: int, redactor
) -> tuple[list[Labelled], list[Labelled], list[Ticket]]:
    """(training rows, validation rows, held-out tickets). Training text is redacted (order
    numbers, names); held-out tickets stay as customers wrote them."""
    train, test = split(tickets, held_out, seed)
    redacted = [redactor.redact_example([t.text]).turns[0] for t in train]
    rows = [Labelled(text, t.intent) for text, t in zip(redacted, train)]
    chosen = [fraction(r.text, seed + 1) < 0.05 for r in rows]  # 5% for early stopping
    fit = [r for r, c in zip(rows, chosen) if not c]
    return fit, [r for r, c in zip(rows, chosen) if c], test


def classifier_recipe(base_model: str, steps: int) -> TrainConfig:
    """The triage classifier's training recipe: LoRA on every linear layer, short sequences."""
    return TrainConfig(
        base_model=base_model,
        adapter_name="triage",
        max_steps=steps,
        batch_size=16,
        learning_rate=5e-4,
        max_length=96,
        eval_steps=100,
        early_stopping_patience=3,
        lora=LoraSettings(r=16, alpha=32, dropout=0.0, target_modules="all-linear"),
    )


def describe_classifier(
    folder: Path,
    recipe: TrainConfig,
    categories: dict,
    data: Path,
    rows: int,
    metrics: dict,
    held_out: HeldOut,
) -> None:
    """What serving needs beside the PEFT files: the intents' categories, and the card."""
    (folder / "categories.json").write_text(json.dumps(categories, indent=1) + "\n")
    card = AdapterCard(
        name="triage",
        base_model=recipe.base_model,
        data=[DataFile(path=str(data), sha256=file_sha256(data), examples=rows)],
        hyperparameters=recipe.model_dump(mode="json"),
        metrics=metrics,
        held_out_split=held_out,  # a promotion gate must hold out the same tickets
    )
    write_card(folder, card)


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(gold, predicted, average="macro", zero_division=0)), 4)


def _timed(predict: Callable[[str], str], texts: Sequence[str]) -> tuple[list[str], list[float]]:
    predictions, latencies = [], []
    for text in texts:
        started = time.perf_counter()
        predictions.append(predict(text))
        latencies.append((time.perf_counter() - started) * 1000)
    return predictions, latencies


def score(
    name: str,
    test: Sequence[Ticket],
    predicted: Sequence[str],
    latencies: Sequence[float],
    categories: dict[str, str],
) -> TriageArm:
    gold = [t.intent for t in test]
    return TriageArm(
        arm=name,
        n=len(test),
        intent_macro_f1=macro_f1(gold, predicted),
        category_macro_f1=macro_f1(
            [t.category for t in test], [categories.get(p, "?") for p in predicted]
        ),
        accuracy=round(float(np.mean([g == p for g, p in zip(gold, predicted)])), 4),
        latency_p50_ms=round(statistics.median(latencies), 2),
        latency_p95_ms=round(float(np.percentile(latencies, 95)), 2),
    )


def embedding_arm(train: Sequence[Labelled], test: Sequence[Ticket], embedder):
    """MiniLM vectors + multinomial logistic regression: the baseline to beat."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=2000, C=10.0)
    model.fit(embedder.embed([r.text for r in train]), [r.label for r in train])
    return _timed(
        lambda text: str(model.predict(embedder.embed([text]))[0]), [t.text for t in test]
    )


def lora_arm(
    train: Sequence[Labelled],
    validation: Sequence[Labelled],
    test: Sequence[Ticket],
    config: TrainConfig,
    folder: Path,
    progress: bool,
):
    metrics = train_classifier(config, train, validation, folder, progress)
    classifier = Classifier.load(folder, config.base_model, config.dtype)
    predictions, latencies = _timed(
        lambda text: max(p := classifier.predict([text])[0], key=p.get), [t.text for t in test]
    )
    return predictions, latencies, metrics


def zero_shot_arm(test: Sequence[Ticket], intents: list[str], base_model: str):
    """The base LLM, greedy, asked for one intent name from the list; the closest name wins."""
    import torch

    from hybrid.models.base import load_base

    model, tokenizer = load_base(base_model)
    listed = ", ".join(intents)

    @torch.inference_mode()
    def predict(text: str) -> str:
        messages = [
            {
                "role": "user",
                "content": f"Intents: {listed}.\nCustomer message: {text}\n"
                "Reply with the one intent from the list that fits the message, nothing else.",
            }
        ]
        ids = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(model.device)
        out = model.generate(**ids, max_new_tokens=8, do_sample=False)
        said = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        said = said.strip().strip(".").lower().replace(" ", "_")
        return (difflib.get_close_matches(said, intents, n=1, cutoff=0.0) or [intents[0]])[0]

    return _timed(predict, [t.text for t in test])


def gate_figures(config: TriageConfig, folder: Path, gate: TriageGate) -> dict[str, float | None]:
    """The promotion gate's eval of the classifier in ``folder``: the gate's held-out tickets
    (an evenly spaced sample of ``gate.limit``: every intent), each through the server's triage
    path, timed one at a time."""
    from hybrid.answer.triage import Triager

    tickets = read_bitext(gate.data)
    _, test = split(tickets, gate.held_out, gate.seed)
    if gate.limit:
        test = test[:: max(1, len(test) // gate.limit)][: gate.limit]
    if not test:
        raise ValueError(f"triage.promotion: no held-out ticket in {gate.data}")
    triager = Triager.load(config.model_copy(update={"classifier": folder}))
    predicted, latencies = _timed(lambda text: triager.triage(text).intent, [t.text for t in test])
    categories = {t.intent: t.category for t in tickets}
    arm = score("gate", test, predicted, latencies, categories)
    return {name: getattr(arm, name) for name in TRIAGE_METRICS} | {"n": float(arm.n)}


def confusion_png(gold: Sequence[str], predicted: Sequence[str], title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(gold))
    matrix = confusion_matrix(gold, predicted, labels=labels, normalize="true")
    fig, ax = plt.subplots(figsize=(11, 10), dpi=100)
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
