"""One request inside the in-process engine: prompt ids, settings, and the streamed output."""

from __future__ import annotations

from dataclasses import dataclass, field

from hybrid.config_serve import GenerationSettings
from hybrid.runtime.engine import Event, Ticket


@dataclass
class Job:
    """Tokens come in one at a time (``push``); text deltas and the end go to the ticket."""

    ids: list[int]
    settings: GenerationSettings
    adapter: str | None
    ticket: Ticket
    decoder: object  # the worker's tokenizer
    eos: frozenset[int]
    out: list[int] = field(default_factory=list)
    sent: str = ""
    done: bool = False

    def push(self, token: int) -> bool:
        """Take one generated token; emit its text; True once the request is finished."""
        if self.done:
            return True
        if token in self.eos:
            self.finish("stop")
            return True
        self.out.append(token)
        text = self.decoder.decode(self.out, skip_special_tokens=True)  # type: ignore[attr-defined]
        if not text.endswith("\ufffd"):  # wait for the rest of a multi-byte character
            self.ticket.emit(Event(text=text[len(self.sent) :]))
            self.sent = text
        if self.ticket.cancelled.is_set():
            self.finish("cancelled")
        elif len(self.out) >= self.settings.max_new_tokens:
            self.finish("length")
        return self.done

    def fail(self, error: Exception) -> None:
        if not self.done:
            self.done = True
            self.ticket.emit(Event(done=True, finish_reason="error", error=str(error)))

    def finish(self, reason: str) -> None:
        self.done = True
        self.ticket.emit(
            Event(
                done=True,
                finish_reason=reason,
                prompt_tokens=len(self.ids),
                completion_tokens=len(self.out),
            )
        )
