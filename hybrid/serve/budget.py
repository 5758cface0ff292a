"""Per-key budgets over a sliding minute: tokens (prompt and generated), or feedback posts."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import HTTPException

from hybrid.serve.auth import Principal

WINDOW_S = 60.0


class TokenBudget:
    """What each key has spent in the last minute; a request that would go over it gets 429.

    Prompt tokens are charged when generation is queued (a long history costs its prefill even
    if the client leaves), generated tokens when the run ends. A refused question (no chunk
    relevant enough) generates nothing and costs nothing.

    Example: ``budget.charge(who, 900)`` raises 429 with ``Retry-After`` when ``who`` has spent
    ``who.tokens_per_minute - 899`` or more tokens within the last 60 s.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        limit_of: Callable[[Principal], int] = lambda who: who.tokens_per_minute,
        unit: str = "tokens",
        what: str = "prompt and generated tokens",
    ):
        self._clock, self._limit_of, self._unit, self._what = clock, limit_of, unit, what
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def used(self, who: Principal) -> int:
        with self._lock:
            return sum(n for _, n in self._recent(who.name))

    def charge(self, who: Principal, tokens: int) -> None:
        """Spend ``tokens`` now, or raise 429 (nothing spent) if the key's minute is full."""
        limit = self._limit_of(who)
        with self._lock:
            recent = self._recent(who.name)
            used = sum(n for _, n in recent)
            if used + tokens > limit:
                wait = self._wait(recent, used + tokens - limit)
                raise HTTPException(
                    429,
                    f"key {who.name!r} would spend {used + tokens} {self._unit} in a minute "
                    f"(limit {limit}: {self._what}); retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            recent.append((self._clock(), tokens))

    def record(self, who: Principal, tokens: int) -> None:
        """Spend ``tokens`` already produced (generated text): never refused."""
        if tokens == 0:
            return
        with self._lock:
            self._recent(who.name).append((self._clock(), tokens))

    def refund(self, who: Principal, tokens: int) -> None:
        """Give back a charge whose generation never started (the queue was full)."""
        self.record(who, -tokens)

    def _recent(self, name: str) -> deque[tuple[float, int]]:
        spent = self._spent.setdefault(name, deque())
        now = self._clock()
        while spent and now - spent[0][0] >= WINDOW_S:
            spent.popleft()
        return spent

    def _wait(self, recent: deque[tuple[float, int]], excess: int) -> int:
        """Seconds until at least ``excess`` tokens leave the window (whole seconds, >= 1)."""
        freed, now = 0, self._clock()
        for at, n in recent:
            freed += n
            if freed >= excess:
                return max(1, math.ceil(WINDOW_S - (now - at)))
        return math.ceil(WINDOW_S)
