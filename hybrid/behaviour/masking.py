"""Tokenise chat examples with a loss mask that covers exactly the assistant turns.

Works for any chat template, with or without ``{% generation %}`` markers: each assistant
turn's character span is found by rendering the conversation up to that turn with and
without it, and tokens are kept by their character offsets in the full rendering.
"""

from __future__ import annotations

from dataclasses import dataclass

Message = dict[str, str]


@dataclass(frozen=True)
class Tokenised:
    """``assistant_masks[i] == 1`` where token i is trained on (assistant text + end of turn)."""

    input_ids: list[int]
    assistant_masks: list[int]
    spans: list[tuple[int, int]]  # assistant character spans in ``text``
    text: str


def _render(tokenizer, messages: list[Message], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=generation_prompt
    )


def assistant_spans(tokenizer, messages: list[Message]) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering and the character span of each assistant turn in it."""
    text = _render(tokenizer, messages, False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:i], True)
        through = _render(tokenizer, messages[: i + 1], False)
        if not (text.startswith(through) and through.startswith(before)):
            # Templates that rewrite earlier turns (e.g. drop past reasoning) break prefixes.
            raise ValueError(
                "the chat template does not render conversations prefix-consistently; "
                "assistant spans cannot be located"
            )
        spans.append((len(before), len(through)))
    return text, spans


def tokenise(tokenizer, messages: list[Message], max_length: int | None = None) -> Tokenised:
    """Token ids and the assistant mask for one conversation (truncated to ``max_length``).

    Example: ``tokenise(tok, [{"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"}]).assistant_masks``
    """
    text, spans = assistant_spans(tokenizer, messages)
    # The rendering already holds the template's BOS/special tokens: do not add them twice.
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
    mask = [
        int(end > start and any(a <= start and end <= b for a, b in spans))
        for start, end in offsets
    ]
    if max_length is not None:
        ids, mask = ids[:max_length], mask[:max_length]
    return Tokenised(list(ids), mask, spans, text)
