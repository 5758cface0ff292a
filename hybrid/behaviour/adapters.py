"""Adapters as artefacts: a card's base model with its PEFT files applied, or merged into it."""

from __future__ import annotations

from pathlib import Path

from hybrid.models.cards import CARD, read_card


def load_with_adapter(adapter_dir: Path, dtype: str = "auto"):
    """(PeftModel, tokenizer): the card's base model with this adapter applied.

    Example: ``model, tok = load_with_adapter(Path("adapters/support"))``
    """
    from peft import PeftModel

    from hybrid.models.base import load_base  # loads torch: only when an adapter is loaded

    card = read_card(adapter_dir)
    base, tokenizer = load_base(card.base_model, dtype)  # type: ignore[arg-type]
    return PeftModel.from_pretrained(base, str(adapter_dir)), tokenizer


def merge(adapter_dir: Path, output: Path) -> Path:
    """Export base + adapter as one standalone model folder (merged LoRA weights)."""
    model, tokenizer = load_with_adapter(adapter_dir, dtype="fp32")  # merge at full precision
    merged = model.merge_and_unload()
    output.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(output)
    tokenizer.save_pretrained(output)
    merged_card = read_card(adapter_dir).model_copy(update={"merged_from": str(adapter_dir)})
    (output / CARD).write_text(merged_card.model_dump_json(indent=2) + "\n")
    return output
