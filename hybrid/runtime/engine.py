"""What every generation engine offers: submit chat messages, get a stream of text events."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from hybrid.config import GenerationSettings

log = logging.getLogger(__name__)
Messages = list[dict[str, str]]  # OpenAI chat messages: [{"role": ..., "content": ...}]


@dataclass(frozen=True)
class Event:
    """A text delta, or the end of a request (``done``) with its reason and token counts."""

    text: str = ""
    done: bool = False
    finish_reason: str | None = None  # stop | length | cancelled | error
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    """A whole answer, as ``Ticket.result`` collects it."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    first_token_s: float | None
    error: str | None = None


class Ticket:
    """One request in flight. Events go to ``on_event`` (called from the engine's thread) or,
    without it, to a queue read by ``events()`` / ``result()``.

    Example: ``engine.submit(messages, GenerationSettings()).result().text``
    """

    def __init__(self, on_event: Callable[[Event], None] | None = None):
        self._queue: queue.SimpleQueue[Event] | None = None if on_event else queue.SimpleQueue()
        self._on_event = on_event
        self.cancelled = threading.Event()
        self.created = time.perf_counter()
        self.first_token_at: float | None = None
        self.finished = False

    def emit(self, event: Event) -> None:
        if self.finished:
            return
        if event.text and self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.finished = event.done
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # the receiver is gone (closed event loop): stop generating,
                log.exception("event delivery failed")  # but keep the engine's thread alive
                self.cancel()
        else:
            assert self._queue is not None  # internal invariant: one of the two is set
            self._queue.put(event)

    def cancel(self) -> None:
        """Stop generating for this request (client gone, timeout); its batch goes on."""
        self.cancelled.set()

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        if self._queue is None:
            raise ValueError("this ticket delivers events to its on_event callback")
        while True:
            try:
                event = self._queue.get(timeout=timeout)
            except queue.Empty:
                self.cancel()
                raise TimeoutError(f"no event within {timeout} s") from None
            yield event
            if event.done:
                return

    def result(self, timeout: float | None = None) -> Completion:
        parts, last = [], Event()
        for last in self.events(timeout):
            parts.append(last.text)
        first = None if self.first_token_at is None else self.first_token_at - self.created
        return Completion(
            "".join(parts),
            last.finish_reason or "stop",
            last.prompt_tokens,
            last.completion_tokens,
            first,
            last.error,
        )


class Engine(Protocol):
    """A generator: local (in-process model) or remote (OpenAI-compatible HTTP)."""

    name: str
    context_window: int
    adapters: tuple[str, ...]

    def count_tokens(self, messages: Messages) -> int: ...

    def submit(
        self,
        messages: Messages,
        settings: GenerationSettings,
        adapter: str | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> Ticket: ...

    def pending(self) -> int: ...

    def alive(self) -> bool: ...

    def close(self) -> None: ...
