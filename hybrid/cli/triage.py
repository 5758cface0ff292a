"""`hybrid eval triage`: the triage classifier against its baselines on held-out tickets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from hybrid.cli.common import app, eval_app, out


@app.command("triage")
def triage_ticket(
    ctx: typer.Context,
    ticket: Path = typer.Argument(..., help="A text file holding the ticket, or - for stdin."),
    draft: bool = typer.Option(True, help="Also draft a cited reply through triage.route."),
) -> None:
    """Classify a support ticket (intent, category, team, summary) and draft a cited reply."""
    from hybrid.models.promotions import promotions_for
    from hybrid.serve.app import served_triager

    config = ctx.obj.config()
    if config.triage is None:
        raise ValueError("the recipe has no triage: section (see configs/triage.yaml)")
    text = sys.stdin.read() if str(ticket) == "-" else ticket.read_text(encoding="utf-8")
    # The classifier a server of this recipe serves (the promoted one, where promotion rules).
    found = served_triager(config, promotions_for(config)).get().triage(text)
    result = dict(found.__dict__) | {"draft": None}
    if draft and config.triage.route is not None:
        from hybrid.answer.router import Router
        from hybrid.cli.knowledge import embedder_for
        from hybrid.runtime import create_engine

        engine = create_engine(config.runtime)
        try:
            router = Router(config, engine, embedder_for(config))
            answer = router.answer(config.triage.route, [{"role": "user", "content": text}])
        finally:
            engine.close()
        result["draft"] = {"text": answer.text, "citations": list(answer.citations)}
    out.print_json(json.dumps(result, default=list))


@eval_app.command("triage")
def eval_triage(
    ctx: typer.Context,
    data: Path = typer.Option(
        ..., help="Bitext CSV, e.g. ../shared/data/support/bitext_customer_support.csv."
    ),
    arms: str = typer.Option("lora,embedding,zero-shot", help="Comma-separated arms."),
    held_out: float = typer.Option(0.15, help="Share of each intent's tickets held out."),
    seed: int = typer.Option(0),
    steps: int = typer.Option(800, help="Training steps of the LoRA classifier."),
    zero_shot_limit: int = typer.Option(
        60, help="Held-out tickets the zero-shot arm answers (it generates: slow on a CPU)."
    ),
    adapter: Path = typer.Option(Path("adapters/triage"), help="Where the classifier goes."),
    output: Path = typer.Option(Path("evals/results/triage.json")),
) -> None:
    """Macro-F1 over intents and categories, accuracy and latency per ticket, per arm, plus a
    confusion matrix PNG of the best arm."""
    from hybrid.behaviour.redact import Redactor
    from hybrid.cli.knowledge import embedder_for
    from hybrid.evals import results, triage
    from hybrid.models.cards import HeldOut

    chosen = [a.strip() for a in arms.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in triage.ARMS]
    if unknown or not chosen:
        raise ValueError(f"--arms: unknown {unknown or arms!r}; known: {list(triage.ARMS)}")
    if not 0 < held_out < 1:
        raise ValueError(f"--held-out must be between 0 and 1, got {held_out}")
    config = ctx.obj.config()
    tickets = triage.read_bitext(data)
    categories = {t.intent: t.category for t in tickets}
    fit, validation, test = triage.prepare(tickets, held_out, seed, Redactor(config.redaction))
    found, predictions, training = [], {}, None
    if "lora" in chosen:
        train_cfg = triage.classifier_recipe(config.runtime.base_model, steps)
        preds, latencies, training = triage.lora_arm(
            fit, validation, test, train_cfg, adapter, True
        )
        found.append(triage.score("lora", test, preds, latencies, categories))
        predictions["lora"] = preds
        split = HeldOut(share=held_out, seed=seed)
        triage.describe_classifier(adapter, train_cfg, categories, data, len(fit), training, split)
    if "embedding" in chosen:
        preds, latencies = triage.embedding_arm(fit, test, embedder_for(config))
        found.append(triage.score("embedding", test, preds, latencies, categories))
        predictions["embedding"] = preds
    if "zero-shot" in chosen:
        sample = test[:: max(1, len(test) // zero_shot_limit)][:zero_shot_limit]
        preds, latencies = triage.zero_shot_arm(
            sample, sorted(categories), config.runtime.base_model
        )
        found.append(triage.score("zero-shot", sample, preds, latencies, categories))
    result = results.TriageResult(
        dataset=str(data),
        train=len(fit),
        held_out=len(test),
        intents=len(categories),
        categories=len(set(categories.values())),
        seed=seed,
        arms=found,
        lora_training=training,
    )
    out.print(f"wrote {results.write(result, output)}")
    _report(found, predictions, [t.intent for t in test], output)


def _report(found: list, predictions: dict, gold: list[str], output: Path) -> None:
    """The table, and the confusion matrix of the best arm that answered every ticket."""
    from hybrid.evals import triage

    table = Table("arm", "n", "intent macro-F1", "category macro-F1", "accuracy", "p50 ms")
    for a in found:
        table.add_row(
            a.arm, str(a.n), f"{a.intent_macro_f1:.3f}", f"{a.category_macro_f1:.3f}",
            f"{a.accuracy:.3f}", f"{a.latency_p50_ms:.1f}",
        )  # fmt: skip
    out.print(table)
    if not predictions:
        return  # zero-shot alone: a sample, no full confusion matrix
    best = max((a for a in found if a.arm in predictions), key=lambda a: a.intent_macro_f1)
    chart = triage.confusion_png(
        gold,
        predictions[best.arm],
        f"triage, {best.arm}: intent macro-F1 {best.intent_macro_f1:.3f} (n={best.n})",
        output.with_suffix(".png"),
    )
    out.print(f"wrote {chart}")
