"""Continuous batching: requests join and leave the running batch between decoding steps.

A new request is prefilled alone (no padding waste, SDPA's causal fast path), its KV cache is
left-padded to the running batch's length and concatenated to it; every step then decodes one
token for all rows at once. Finished rows leave at once, and columns that only padding uses
are trimmed, so nobody waits for the slowest request of "their" batch.

Shapes: cache keys/values (rows, kv_heads, length, head_dim); ``mask`` (rows, length), 1 where
a position holds a real token; ``last`` (rows,), the token each row feeds next.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

if TYPE_CHECKING:
    from hybrid.runtime.job import Job

BASE = "__base__"  # PEFT's name for "no adapter" in a mixed batch


def supports_merging(model) -> bool:
    """Plain growing KV caches only: sliding-window and recurrent layers cannot be padded."""
    cache = DynamicCache(config=model.config)
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


class RunningBatch:
    """The rows being decoded, one shared left-padded KV cache."""

    def __init__(self, model, device: str, with_adapters: bool):
        self.model, self.device, self.with_adapters = model, device, with_adapters
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        # transformers 5 renamed `past_key_values` to `cache`; older releases know only the first.
        known = inspect.signature(type(base).forward).parameters
        self.cache_arg = "cache" if "cache" in known else "past_key_values"
        self.jobs: list[Job] = []
        self.cache: DynamicCache | None = None
        self.mask = torch.zeros((0, 0), dtype=torch.long, device=device)
        self.last = torch.zeros((0,), dtype=torch.long, device=device)

    def __len__(self) -> int:
        return len(self.jobs)

    def join(self, job: Job) -> None:
        """Prefill one request, emit its first token, and add it to the batch unless done."""
        ids = torch.tensor([job.ids], device=self.device)
        with self._adapters([job]) as extra:
            out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1, **extra)
        token = int(choose(out.logits[:, -1], [job])[0])
        if job.push(token):
            return  # EOS or max_new_tokens == 1: never enters the batch
        cache, length = _cache_of(out), ids.shape[1]
        ones = torch.ones((1, length), dtype=torch.long, device=self.device)
        if self.cache is None:
            self.cache, self.mask = cache, ones
        else:
            width = max(self.mask.shape[1], length)
            # Build everything first, assign after: a failure (out of memory) half-way must
            # not leave layers with different row counts behind.
            pairs = list(zip(self.cache.layers, cache.layers))
            keys = [torch.cat([_pad(a.keys, width), _pad(b.keys, width)]) for a, b in pairs]
            values = [torch.cat([_pad(a.values, width), _pad(b.values, width)]) for a, b in pairs]
            mask = torch.cat([_pad(self.mask, width, dim=1), _pad(ones, width, dim=1)])
            for layer, k, v in zip(self.cache.layers, keys, values):
                layer.keys, layer.values = k, v
            self.mask = mask
        self.jobs.append(job)
        self.last = torch.cat([self.last, torch.tensor([token], device=self.device)])

    def step(self) -> None:
        """Decode one token for every row; rows that finish leave the batch."""
        positions = self.mask.sum(dim=1, keepdim=True)  # each row's next position (rows, 1)
        self.mask = F.pad(self.mask, (0, 1), value=1)
        with self._adapters(self.jobs) as extra:
            out = self.model(
                input_ids=self.last[:, None],
                attention_mask=self.mask,
                position_ids=positions,
                use_cache=True,
                logits_to_keep=1,
                **{self.cache_arg: self.cache},
                **extra,
            )
        self.last = choose(out.logits[:, -1], self.jobs)
        keep = [
            i for i, (job, t) in enumerate(zip(self.jobs, self.last.tolist())) if not job.push(t)
        ]
        if len(keep) < len(self.jobs):
            self._select(keep)

    def fail(self, error: Exception) -> None:
        """A failed step ends every row with the error; the batch starts afresh."""
        for job in self.jobs:
            job.fail(error)
        self._select([])

    def _select(self, keep: list[int]) -> None:
        self.jobs = [self.jobs[i] for i in keep]
        if not keep:
            self.cache = None
            self.mask = self.mask[:0, :0]
            self.last = self.last[:0]
            return
        index = torch.tensor(keep, device=self.device)
        self.mask, self.last = self.mask[index], self.last[index]
        start = int(self.mask.any(dim=0).int().argmax())  # leading columns only padding uses
        assert self.cache is not None  # rows remain, so the cache does
        for layer in self.cache.layers:
            layer.keys = layer.keys[index, :, start:]
            layer.values = layer.values[index, :, start:]
        self.mask = self.mask[:, start:]

    def _adapters(self, jobs: Sequence[Job]) -> contextlib.AbstractContextManager[dict]:
        if not self.with_adapters:
            return contextlib.nullcontext({})
        return route(self.model, [job.adapter or BASE for job in jobs])


@contextlib.contextmanager
def route(model, names: Sequence[str]):
    """Forward keyword arguments that send each row through its adapter (``BASE``: none).

    PEFT's ``adapter_names`` splits every LoRA layer's input by row; when all rows use one
    adapter, the active adapter (or ``disable_adapter``) gives the same result without the
    split. SmolLM2-135M + the answerer, one request on this 2-core CPU
    (``benchmarks/bench_engine.py``): 12.2 -> 15.4 tokens/s, first token 610 -> 427 ms.
    """
    if len(set(names)) > 1:
        yield {"adapter_names": list(names)}
    elif names[0] == BASE:
        with model.disable_adapter():
            yield {}
    else:
        if model.active_adapter != names[0]:
            model.set_adapter(names[0], inference_mode=True)
        yield {}


def guard(logits: torch.Tensor, jobs: Sequence[Job]) -> torch.Tensor:
    """Apply each row's ``repetition_penalty`` and ``no_repeat_ngram`` to (rows, vocab) logits,
    counting the row's generated tokens only, never its prompt (a RAG answer copies from it)."""
    for i, job in enumerate(jobs):
        settings = job.settings
        if settings.repetition_penalty <= 1.0 and not settings.no_repeat_ngram:
            continue  # the default: nothing to do
        out = job.out
        if not out:
            continue
        if settings.repetition_penalty > 1.0:
            seen = torch.tensor(sorted(set(out)), device=logits.device)
            row = logits[i, seen]
            logits[i, seen] = torch.where(
                row > 0, row / settings.repetition_penalty, row * settings.repetition_penalty
            )
        n = settings.no_repeat_ngram
        if n > 0 and len(out) >= n:
            prefix = out[len(out) - n + 1 :] if n > 1 else []
            banned = {
                out[k + n - 1] for k in range(len(out) - n + 1) if out[k : k + n - 1] == prefix
            }
            if banned:
                logits[i, sorted(banned)] = float("-inf")
    return logits


def choose(logits: torch.Tensor, jobs: Sequence[Job]) -> torch.Tensor:
    """Next token per row (rows, vocab) -> (rows,): greedy, or temperature + top-p sampling,
    after the rows' repetition guards."""
    logits = guard(logits.clone(), jobs)
    tokens = logits.argmax(dim=-1)
    for i, job in enumerate(jobs):
        settings = job.settings
        if settings.temperature <= 0:
            continue
        probs = torch.softmax(logits[i].float() / settings.temperature, dim=-1)
        if settings.top_p < 1:
            ordered, order = probs.sort(descending=True)
            outside = ordered.cumsum(0) - ordered > settings.top_p  # keeps at least one
            probs = probs.scatter(0, order[outside], 0.0)
        tokens[i] = torch.multinomial(probs, 1)[0]
    return tokens


def _cache_of(output) -> DynamicCache:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def _pad(x: torch.Tensor, width: int, dim: int = -2) -> torch.Tensor:
    """Left-pad ``dim`` with zeros to ``width`` (KV: the sequence dimension)."""
    missing = width - x.shape[dim]
    if missing == 0:
        return x
    pad = [0, 0] * (x.dim() - 1 - dim % x.dim()) + [missing, 0]
    return F.pad(x, pad)
