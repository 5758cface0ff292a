"""Micro-batches through ``generate``: what a static KV cache and ``torch.compile`` need.

The worker takes what arrived within ``max_wait_ms`` as one batch. When compiling, the batch
is padded to a power of two and prompts and new tokens to multiples of 64, so the compiled
graphs are reused; a streamer splits each step's (batch,) tokens by row.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from transformers import (
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)
from transformers.generation.streamers import BaseStreamer

from hybrid.runtime.job import Job
from hybrid.runtime.scheduler import BASE, guard, route


def generate_batch(
    model,
    jobs: list[Job],
    device: str,
    pad: int,
    eos: frozenset[int],
    compiled: bool,
    with_adapters: bool,
) -> None:
    """Left-pad ``jobs`` into one batch and run ``generate`` once, streaming every row."""
    rows = _bucket(len(jobs)) if compiled else len(jobs)
    longest = max(len(j.ids) for j in jobs)
    width = -(-longest // 64) * 64 if compiled else longest
    input_ids = torch.full((rows, width), pad, dtype=torch.long)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for i in range(rows):
        ids = jobs[min(i, len(jobs) - 1)].ids  # bucket filler rows repeat the last request
        input_ids[i, width - len(ids) :] = torch.tensor(ids)
        mask[i, width - len(ids) :] = 1
    new_tokens = max(j.settings.max_new_tokens for j in jobs)
    if compiled:
        new_tokens = -(-new_tokens // 64) * 64
    settings = jobs[0].settings
    gen = GenerationConfig(
        max_new_tokens=new_tokens,
        do_sample=settings.temperature > 0,
        pad_token_id=pad,
        eos_token_id=sorted(eos),
    )
    if settings.temperature > 0:
        # top_k 0: the same sampling as the continuous scheduler (no hidden top-50 cut).
        gen.temperature, gen.top_p, gen.top_k = settings.temperature, settings.top_p, 0
    if compiled:
        gen.cache_implementation = "static"
    names = [j.adapter or BASE for j in jobs]
    names += [names[-1]] * (rows - len(jobs))  # bucket filler rows
    adapters = route(model, names) if with_adapters else nullcontext({})
    streamer = _RowStreamer(jobs)
    with torch.inference_mode(), adapters as extra:
        model.generate(
            input_ids=input_ids.to(device),
            attention_mask=mask.to(device),
            generation_config=gen,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([_RowsDone(jobs, rows)]),
            logits_processor=LogitsProcessorList([_Guard(jobs)]),
            **extra,
        )
    streamer.end()


class _RowStreamer(BaseStreamer):
    """Splits each step's (batch,) tokens by row."""

    def __init__(self, jobs: list[Job]):
        self.jobs = jobs
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt ids
            self.prompt_seen = True
            return
        for job, token in zip(self.jobs, value.view(-1).tolist()):
            job.push(token)

    def end(self) -> None:
        for job in self.jobs:
            if not job.done:
                job.finish("length")


class _Guard(LogitsProcessor):
    """The rows' repetition guards on their generated tokens (``scheduler.guard``)."""

    def __init__(self, jobs: list[Job]):
        self.jobs = jobs

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return guard(scores, self.jobs)  # filler rows (beyond the jobs) are left alone


class _RowsDone(StoppingCriteria):
    """Per-row stop: its own max_new_tokens reached, cancelled, or finished (EOS)."""

    def __init__(self, jobs: list[Job], rows: int):
        self.jobs, self.rows = jobs, rows

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: object) -> torch.Tensor:
        done = [True] * self.rows  # bucket filler rows never hold generation up
        for i, job in enumerate(self.jobs):
            # The streamer sees this step's token after us: count it here (+1).
            done[i] = (
                job.done
                or job.ticket.cancelled.is_set()
                or (len(job.out) + 1 >= job.settings.max_new_tokens)
            )
        return torch.tensor(done, device=input_ids.device)


def _bucket(n: int) -> int:
    """Batch sizes rounded up to powers of two, so compiled graphs are reused."""
    size = 1
    while size < n:
        size *= 2
    return size
