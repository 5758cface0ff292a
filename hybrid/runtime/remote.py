"""Remote engine: send the composed prompt to any OpenAI-compatible server and stream back.

For scale-out: vLLM serving the LoRA adapters by name, TGI, a hosted model, or another hybrid
server. The router composes and verifies here; only generation happens there.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable

import httpx

from hybrid.config import GenerationSettings, OpenAIBackend
from hybrid.errors import Overloaded
from hybrid.runtime.engine import Event, Messages, Ticket


class RemoteEngine:
    """Streams chat completions from ``base_url``; a route's adapter is sent as the model name.

    Example: ``RemoteEngine(OpenAIBackend(base_url="http://gpu:8000/v1", model="llama"), ())``
    """

    def __init__(self, config: OpenAIBackend, adapters: tuple[str, ...], max_queue: int):
        self.config = config
        self.name = f"{config.base_url} ({config.model})"
        self.adapters = adapters
        self.context_window = config.context_window
        token = os.environ.get(config.api_key_env) if config.api_key_env else None
        if config.api_key_env and not token:
            raise ValueError(f"runtime.openai.api_key_env: ${config.api_key_env} is not set")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(
            base_url=config.base_url.rstrip("/"), headers=headers, timeout=config.timeout_s
        )
        self._slots = threading.BoundedSemaphore(max_queue)
        self._in_flight = 0

    def count_tokens(self, messages: Messages) -> int:
        # The remote tokenizer is unknown: ~3 characters per token over-counts for English,
        # so budgets stay safe, plus a few tokens of chat framing per message.
        return sum(len(m["content"]) // 3 + 8 for m in messages)

    def submit(
        self,
        messages: Messages,
        settings: GenerationSettings,
        adapter: str | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> Ticket:
        if not self._slots.acquire(blocking=False):
            raise Overloaded("too many requests in flight to the remote engine")
        self._in_flight += 1
        ticket = Ticket(on_event)
        body = {
            "model": adapter or self.config.model,
            "messages": messages,
            "stream": True,
            "max_tokens": settings.max_new_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            **({"stop": list(settings.stop)[:4]} if settings.stop else {}),  # OpenAI: at most 4
        }
        threading.Thread(target=self._run, args=(body, ticket), daemon=True).start()
        return ticket

    def _run(self, body: dict, ticket: Ticket) -> None:
        tokens, reason, error = 0, "stop", None
        try:
            with self.client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code != 200:
                    detail = response.read().decode("utf-8", "replace")[:500]
                    raise RuntimeError(f"remote engine answered {response.status_code}: {detail}")
                for line in response.iter_lines():
                    if ticket.cancelled.is_set():
                        reason = "cancelled"
                        break
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choice = (json.loads(data).get("choices") or [{}])[0]
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        tokens += 1  # one streamed chunk per token on OpenAI-style servers
                        ticket.emit(Event(text=text))
                    reason = choice.get("finish_reason") or reason
        except Exception as failure:  # whatever the upstream sends, the ticket must finish
            reason, error = "error", f"remote engine: {type(failure).__name__}: {failure}"
        finally:
            self._in_flight -= 1
            self._slots.release()
            done = Event(done=True, finish_reason=reason, error=error, completion_tokens=tokens)
            ticket.emit(done)

    def pending(self) -> int:
        return self._in_flight

    def alive(self) -> bool:
        return True  # each request has its own thread; the upstream's health is its own

    def close(self) -> None:
        self.client.close()
