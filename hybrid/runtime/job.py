"""One request inside the in-process engine: prompt ids, settings, and the streamed output."""

from __future__ import annotations

from dataclasses import dataclass, field

from hybrid.config import GenerationSettings
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
        """Take one generated token; emit its text; True once the request is finished.

        Text that could be the start of a stop string is held back until it is not; at a stop
        string the answer ends before it ("stop"); a generation that repeats itself ends
        ("length").
        """
        if self.done:
            return True
        if token in self.eos:
            self.finish("stop")
            return True
        self.out.append(token)
        text = self.decoder.decode(self.out, skip_special_tokens=True)  # type: ignore[attr-defined]
        if not text.endswith("\ufffd"):  # wait for the rest of a multi-byte character
            cut = first_stop(text, self.settings.stop)
            if cut is not None:
                self._emit(text[:cut].rstrip())
                self.finish("stop")
                return True
            self._emit(text[: len(text) - held_back(text, self.settings.stop)])
        if self.ticket.cancelled.is_set():
            self.finish("cancelled")
        elif self.settings.stop_loops and looping(self.out):
            self.finish("length")  # cut short, as OpenAI's API says it (it has no "loop")
        elif len(self.out) >= self.settings.max_new_tokens:
            self.finish("length")
        return self.done

    def _emit(self, text: str) -> None:
        if len(text) > len(self.sent) and text.startswith(self.sent):
            self.ticket.emit(Event(text=text[len(self.sent) :]))
            self.sent = text

    def fail(self, error: Exception) -> None:
        if not self.done:
            self.done = True
            self.ticket.emit(Event(done=True, finish_reason="error", error=str(error)))

    def finish(self, reason: str) -> None:
        text = self.decoder.decode(self.out, skip_special_tokens=True)  # type: ignore[attr-defined]
        if first_stop(text, self.settings.stop) is None:
            self._emit(text.rstrip("\ufffd"))  # what was held back for a stop that never came
        self.done = True
        self.ticket.emit(
            Event(
                done=True,
                finish_reason=reason,
                prompt_tokens=len(self.ids),
                completion_tokens=len(self.out),
            )
        )


def first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    """Where the first stop string starts in ``text`` (None: nowhere)."""
    found = [i for i in (text.find(stop) for stop in stops if stop) if i >= 0]
    return min(found) if found else None


def held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters could begin a stop string: "...Quest" holds back 5."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


def looping(tokens: list[int]) -> bool:
    """The last tokens repeat themselves: a span of 8+ tokens (a sentence) twice in a row, or
    of 3-7 tokens three times ("the the the", "fees are due. fees are due. fees are due.")."""
    n = len(tokens)
    for period in range(3, n // 2 + 1):
        block = tokens[n - period :]
        times = 2 if period >= 8 else 3
        if n >= times * period and all(
            tokens[n - (k + 1) * period : n - k * period] == block for k in range(1, times)
        ):
            return True
    return False
