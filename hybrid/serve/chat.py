"""``POST /v1/chat/completions`` (OpenAI-compatible, SSE streaming, plus ``citations``) and
``GET /v1/models`` (the routes a key may use)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from hybrid.serve.deps import (
    Caller,
    ServicesDep,
    acquire,
    check_collections,
    check_max_tokens,
    check_route,
)
from hybrid.serve.generation import Run, Streamed, sse
from hybrid.serve.responses import ChatCompletion, ModelList
from hybrid.serve.schemas import ChatRequest

api = APIRouter()


@api.get("/v1/models", response_model=ModelList)
def models(who: Caller, s: ServicesDep) -> dict:
    data = [
        {
            "id": name,
            "object": "model",
            "created": int(s.started),
            "owned_by": "hybrid",
            "collections": [c for c in route.collections if who.may_read(c)],
            "adapter": s.answers.adapter_of(name),  # the promoted one, when promotion rules
        }
        for name, route in s.config.routes.items()
        if who.may_use_route(name)
    ]
    return {"object": "list", "data": data}


@api.post(
    "/v1/chat/completions",
    response_model=None,  # JSON, or SSE chunks with ``stream: true``
    responses={200: {"model": ChatCompletion, "content": {"text/event-stream": {}}}},
)
async def chat(body: ChatRequest, who: Caller, s: ServicesDep):
    s.auth.require(who, "chat")
    route = check_route(s, who, body.model)
    collections = check_collections(s, who, route, body.collections)
    limit = check_max_tokens(s, body.limit(), "max_tokens") or s.config.serve.limits.max_new_tokens
    if body.adapter not in (None, "base", *s.engine.adapters):
        loaded = ["base", *s.engine.adapters]
        raise HTTPException(400, f"adapter: {body.adapter!r} is not loaded (choose from {loaded})")
    messages = [{"role": m.role, "content": m.text()} for m in body.messages]
    if len(messages) > s.config.serve.limits.max_messages:
        raise HTTPException(400, f"messages: at most {s.config.serve.limits.max_messages} allowed")
    acquire(s, who)
    try:
        run = await Run.start(s, who, body.model, messages, collections, limit, body)
    except BaseException:
        s.auth.release(who)
        raise
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return Streamed(run, sse(run, include_usage))
    try:
        text, reason = await run.collect()
        answer = await run.finish(text)
    finally:
        run.close()
    return {
        "id": run.id,
        "object": "chat.completion",
        "created": run.created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": reason,
            }
        ],
        "usage": run.usage(),
        "citations": list(answer.citations),
        "retrieval": run.retrieval(answer),
    }
