"""One generation in flight for the chat and drafts endpoints: compose, queue, stream, finish."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from fastapi import HTTPException
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from hybrid.answer.router import Answer, Composition, Overrides
from hybrid.errors import Overloaded
from hybrid.runtime.engine import Event, Ticket
from hybrid.serve.auth import Principal
from hybrid.serve.deps import Services, acquire
from hybrid.serve.feedback import record
from hybrid.serve.schemas import ChatRequest


class Run:
    """One generation in flight: composition, ticket, and the asyncio queue of its events."""

    def __init__(
        self,
        s: Services,
        who: Principal,
        comp: Composition,
        question: str = "",
        kind: Literal["answer", "draft"] = "answer",
    ):
        self.s, self.who, self.comp, self.question = s, who, comp, question
        # The id the client gets, and the ledger's key for feedback on this answer.
        self.id = f"{'chatcmpl' if kind == 'answer' else 'draft'}-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.began = time.perf_counter()
        self.deadline = self.began + s.config.serve.limits.request_timeout_s
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.ticket: Ticket | None = None
        self.completion_tokens = 0
        self.first_token_s: float | None = None
        self.closed = False

    @classmethod
    async def start(
        cls,
        s: Services,
        who: Principal,
        route: str,
        messages: list[dict[str, str]],
        collections: Sequence[str] | None,
        max_new_tokens: int | None,
        sampling: ChatRequest | None = None,
        kind: Literal["answer", "draft"] = "answer",
    ) -> Run:
        """Retrieve and compose (in a worker thread), then queue generation unless refused."""
        loop = asyncio.get_running_loop()
        overrides = Overrides(max_new_tokens=max_new_tokens)
        if sampling is not None:
            overrides = Overrides(
                sampling.temperature, sampling.top_p, max_new_tokens, sampling.adapter
            )
        comp = await run_in_threadpool(
            s.answers.compose,
            route,
            messages,
            who.may_read,
            collections,
            overrides,
            kind,
            max_prompt_tokens=s.config.serve.limits.max_prompt_tokens,
        )
        run = cls(s, who, comp, messages[-1]["content"], kind)
        s.metrics.similarity.labels(route).observe(comp.best_similarity or 0.0)
        s.metrics.dropped.labels(route).inc(comp.dropped)
        if comp.refused:
            return run
        try:
            s.budget.charge(who, comp.prompt_tokens)
        except HTTPException:
            s.metrics.rejected.labels("key_tokens").inc()
            raise

        def deliver(event: Event) -> None:  # called on the engine's thread
            loop.call_soon_threadsafe(run.events.put_nowait, event)

        try:
            run.ticket = await run_in_threadpool(s.answers.submit, comp, deliver)
        except Overloaded as error:
            s.budget.refund(who, comp.prompt_tokens)
            s.metrics.rejected.labels("queue_full").inc()
            raise HTTPException(
                503, f"server busy: {error}", headers={"Retry-After": "1"}
            ) from None
        except Exception:  # Invalid (a 400 by the app's handler), or a bug (a logged 500)
            s.budget.refund(who, comp.prompt_tokens)
            raise
        return run

    async def stream(self) -> AsyncIterator[Event]:
        """Events until done; a request past its deadline is cancelled and ends as ``length``."""
        if self.ticket is None:  # refused: the refusal is the whole answer
            yield Event(text=self.comp.refusal)
            yield Event(done=True, finish_reason="stop")
            return
        while True:
            try:
                event = await asyncio.wait_for(
                    self.events.get(), timeout=max(0.0, self.deadline - time.perf_counter())
                )
            except asyncio.TimeoutError:  # not TimeoutError: they differ before Python 3.11
                self.ticket.cancel()
                yield Event(done=True, finish_reason="length", error="timeout")
                return
            if event.text and self.first_token_s is None:
                self.first_token_s = time.perf_counter() - self.began
                self.s.metrics.first_token.labels(self.comp.route).observe(self.first_token_s)
            if event.done:
                self.completion_tokens = event.completion_tokens
            yield event
            if event.done:
                return

    async def collect(self) -> tuple[str, str]:
        parts = []
        async for event in self.stream():
            parts.append(event.text)
            if event.done:
                if event.error == "timeout":
                    raise HTTPException(
                        504,
                        f"generation took over serve.limits.request_timeout_s "
                        f"({self.s.config.serve.limits.request_timeout_s:g} s)",
                    )
                if event.error:
                    raise HTTPException(502, f"generation failed: {event.error}")
                return "".join(parts), event.finish_reason or "stop"
        raise HTTPException(502, "generation ended without a result")

    async def finish(self, text: str) -> Answer:
        answer = await run_in_threadpool(self._finish, text)
        m, route = self.s.metrics, self.comp.route
        m.tokens.labels(route, "prompt").inc(self.comp.prompt_tokens)
        m.tokens.labels(route, "completion").inc(self.completion_tokens)
        m.removed.labels(route).inc(answer.removed_citations)
        m.unsupported.labels(route).inc(len(answer.unsupported))
        if answer.refused:
            m.refusals.labels(route).inc()
        for c in answer.citations:
            m.citations.labels(route, str(c["verified"]).lower(), c["origin"]).inc()
        return answer

    def _finish(self, text: str) -> Answer:
        """Verify, then ledger the answer before its id reaches the client (one thread hop)."""
        answer = self.s.answers.finish(self.comp, text)
        record(self.s, self.id, self.who.name, self.question, self.comp, answer)
        return answer

    def usage(self) -> dict:
        prompt = self.comp.prompt_tokens
        return {
            "prompt_tokens": prompt,
            "completion_tokens": self.completion_tokens,
            "total_tokens": prompt + self.completion_tokens,
        }

    def retrieval(self, answer: Answer) -> dict:
        best = self.comp.best_similarity
        return {
            "retrieved": self.comp.retrieved,
            "used": len(self.comp.sources),
            "dropped": self.comp.dropped,
            "dropped_turns": self.comp.dropped_turns,  # history left out (limits)
            "best_similarity": None if best is None else round(best, 4),
            "refused": answer.refused,
            "overruled": answer.overruled,
            "unknown": list(self.comp.unknown),
            "removed_citations": answer.removed_citations,
            "unsupported_sentences": len(answer.unsupported),
            "adapter": self.comp.adapter,
            "sources": [  # every numbered chunk of the prompt, cited or not
                {
                    "n": src.n,
                    "document": src.chunk.doc_id,
                    "collection": src.collection,
                    "pages": src.chunk.pages or None,
                    "similarity": None
                    if src.chunk.similarity is None
                    else round(src.chunk.similarity, 4),
                }
                for src in self.comp.sources
            ],
        }

    def close(self) -> None:
        """Idempotent: cancel generation if still running, free the key's slot once."""
        if self.closed:
            return
        self.closed = True
        if self.ticket is not None and not self.ticket.finished:
            self.ticket.cancel()  # client gone or error: free the batch slot
        self.s.budget.record(self.who, self.completion_tokens)
        self.s.auth.release(self.who)


async def run_to_end(
    s: Services,
    who: Principal,
    route: str,
    messages: list[dict[str, str]],
    collections: Sequence[str] | None,
    max_new_tokens: int | None,
    kind: Literal["answer", "draft"] = "answer",
) -> tuple[Run, Answer, str]:
    """(run, verified answer, finish reason) for a non-streaming endpoint: takes one of the key's
    concurrency slots, generates, verifies, and frees the slot whatever happens."""
    acquire(s, who)
    run: Run | None = None
    try:
        run = await Run.start(s, who, route, messages, collections, max_new_tokens, kind=kind)
        text, reason = await run.collect()
        answer = await run.finish(text)
    finally:
        if run is None:
            s.auth.release(who)
        else:
            run.close()  # also cancels generation when the client went away
    return run, answer, reason


class Streamed(StreamingResponse):
    """SSE response that frees the run even when its body never starts (client gone)."""

    def __init__(self, run: Run, body: AsyncIterator[str]):
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.run = run

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.run.close()


async def sse(run: Run, include_usage: bool) -> AsyncIterator[str]:
    def chunk(delta: dict, reason: str | None = None, **extra: object) -> str:
        body = {
            "id": run.id,
            "object": "chat.completion.chunk",
            "created": run.created,
            "model": run.comp.route,
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        parts, reason, error = [], "stop", None
        async for event in run.stream():
            if event.text:
                parts.append(event.text)
                yield chunk({"content": event.text})
            if event.done:
                reason, error = event.finish_reason or "stop", event.error
        if error and error != "timeout":
            body = {"error": {"message": f"generation failed: {error}", "type": "server_error"}}
            yield f"data: {json.dumps(body)}\n\n"
        else:
            answer = await run.finish("".join(parts))
            yield chunk(
                {},
                reason,
                citations=list(answer.citations),
                retrieval=run.retrieval(answer),
                final_text=answer.text,
            )
            if include_usage:
                body = {"id": run.id, "object": "chat.completion.chunk", "created": run.created}
                body |= {"model": run.comp.route, "choices": [], "usage": run.usage()}
                yield f"data: {json.dumps(body)}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        run.close()
