"""A scripted ``Engine`` for fast in-process API tests (no model: the answer is given).

The real-HTTP tests run the real model; these check what the API does around generation
(routing, citations, verification, response shapes) in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hybrid.config import GenerationSettings
from hybrid.runtime.engine import Event, Messages, Ticket


class FakeEngine:
    """Answers every prompt with ``answer`` (``{1}`` is replaced by evidence sentence [1]),
    streamed word by word; counts words as tokens. Records what it was asked."""

    name = "fake"
    context_window = 4096

    def __init__(self, answer: str = "{1} [1]", adapters: tuple[str, ...] = ()):
        self.answer, self.adapters = answer, adapters
        self.asked: list[tuple[Messages, GenerationSettings, str | None]] = []

    def count_tokens(self, messages: Messages) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages)

    def submit(
        self,
        messages: Messages,
        settings: GenerationSettings,
        adapter: str | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> Ticket:
        self.asked.append((messages, settings, adapter))
        # The evidence template numbers sentences "[n] text" one per line.
        numbered = dict(re.findall(r"^\[(\d+)\] (.+?) \([^()]*\)$", messages[-1]["content"], re.M))
        text = re.sub(r"\{(\d+)\}", lambda m: numbered.get(m.group(1), ""), self.answer)
        ticket = Ticket(on_event)
        words = text.split(" ")
        for i, word in enumerate(words):
            ticket.emit(Event(text=word if i == 0 else " " + word))
        ticket.emit(Event(done=True, finish_reason="stop", completion_tokens=len(words)))
        return ticket

    def pending(self) -> int:
        return 0

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        pass
