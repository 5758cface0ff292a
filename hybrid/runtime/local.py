"""In-process engine: one base model with several LoRA adapters, batched, streamed.

A single worker thread owns the model; requests wait in a bounded queue (full: Overloaded).
By default it batches continuously (``scheduler.py``): a request joins the running batch at
the next decoding step and leaves when done, so 16 concurrent users cost about one forward
pass per token, not 16. With ``compile: on`` (opt-in, CUDA) it instead takes what arrived within
``max_wait_ms`` as one micro-batch and runs ``generate`` with a static KV cache and
``torch.compile`` (batch and prompt shapes bucketed so compiled graphs are reused), a streamer
splitting each step's tokens by row. Either way requests for different adapters share a batch:
PEFT routes each row through its own adapter (``adapter_names``; ``__base__`` = adapters off).
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import torch

from hybrid.config import GenerationSettings, RuntimeConfig
from hybrid.errors import Invalid, Overloaded
from hybrid.models.base import load_base
from hybrid.models.cards import read_card
from hybrid.precision import best_device
from hybrid.runtime.engine import Event, Messages, Ticket
from hybrid.runtime.job import Job
from hybrid.runtime.microbatch import generate_batch
from hybrid.runtime.scheduler import RunningBatch, supports_merging

log = logging.getLogger(__name__)
# Prompt tokens prefilled between two decoding steps (at least one prompt): bounds how long
# running rows stall while newcomers are prefilled.
PREFILL_TOKENS_PER_STEP = 1024


class LocalEngine:
    """Base model + adapters on CUDA, MPS or CPU; ``submit`` is thread-safe.

    Example: ``LocalEngine(RuntimeConfig()).submit([{"role": "user", "content": "Hi"}],
    GenerationSettings(max_new_tokens=8)).result().text``
    """

    def __init__(self, config: RuntimeConfig):
        self.config = config
        self.device = best_device() if config.device == "auto" else config.device
        model, tokenizer = load_base(config.base_model, config.dtype, self.device)
        if config.adapters:
            model = _with_adapters(model, config)
        self.model = model.eval()
        self.adapters = tuple(config.adapters)
        self.name = config.base_model
        self.tokenizer = tokenizer  # for counting (router threads), guarded by a lock
        self._count_lock = threading.Lock()
        self._decoder = copy.deepcopy(tokenizer)  # the worker's own: Rust tokenizers are not
        self._decoder.padding_side = "left"  # safe to share across threads
        self.context_window = config.context_window or int(
            getattr(model.config, "max_position_embeddings", 2048)
        )
        self.eos = eos_ids(model, tokenizer)
        # "auto" does not compile: see RuntimeConfig.compile for the GPU measurement.
        self.compiled = config.compile == "on"
        self.continuous = (
            config.batching == "continuous" or (config.batching == "auto" and not self.compiled)
        ) and supports_merging(self.model)
        self.steps = 0  # forward passes that decoded for the batch; rows / steps is the mean
        self.rows = 0  # batch size; peak_rows the most rows decoded together
        self.peak_rows = 0
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=config.max_queue)
        loop = self._continuous if self.continuous else self._micro_batches
        self._worker = threading.Thread(target=loop, name="hybrid-generate", daemon=True)
        self._worker.start()

    # -- public API -------------------------------------------------------------------------

    def encode(self, messages: Messages) -> list[int]:
        """Token ids of the chat prompt, generation prompt included."""
        with self._count_lock:
            return chat_ids(self.tokenizer, messages)

    def count_tokens(self, messages: Messages) -> int:
        return len(self.encode(messages))

    def submit(
        self,
        messages: Messages,
        settings: GenerationSettings,
        adapter: str | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> Ticket:
        """Queue one request; raises Overloaded when ``max_queue`` requests already wait."""
        if adapter is not None and adapter not in self.adapters:
            raise Invalid(f"unknown adapter {adapter!r}; loaded: {list(self.adapters)}")
        ids = self.encode(messages)
        if len(ids) + settings.max_new_tokens > self.context_window:
            raise Invalid(
                f"prompt ({len(ids)} tokens) + max_new_tokens ({settings.max_new_tokens}) "
                f"exceeds the context window ({self.context_window})"
            )
        ticket = Ticket(on_event)
        try:
            self._queue.put_nowait(Job(ids, settings, adapter, ticket, self._decoder, self.eos))
        except queue.Full:
            raise Overloaded(f"{self.config.max_queue} requests are already waiting") from None
        return ticket

    def pending(self) -> int:
        return self._queue.qsize()

    def alive(self) -> bool:
        """False if the worker thread died: /healthz then answers 503."""
        return self._worker.is_alive()

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=30)

    def warmup(self) -> None:
        """Compile the common shapes before the first user waits for it (CUDA)."""
        for n in (1, 2, 4, 8):
            tickets = [
                self.submit(
                    [{"role": "user", "content": "Hello"}], GenerationSettings(max_new_tokens=8)
                )
                for _ in range(n)
            ]
            for ticket in tickets:
                ticket.result()

    # -- worker -----------------------------------------------------------------------------

    def _continuous(self) -> None:
        batch = RunningBatch(self.model, self.device, bool(self.adapters))
        waiting: deque[Job] = deque()
        while True:
            room = self.config.max_batch - len(batch) - len(waiting)
            if not self._gather(waiting, block=not batch and not waiting, room=room):
                batch.fail(RuntimeError("the engine was closed"))
                for job in waiting:
                    job.fail(RuntimeError("the engine was closed"))
                return
            spent = 0
            while waiting and (not spent or spent + len(waiting[0].ids) <= PREFILL_TOKENS_PER_STEP):
                job = waiting.popleft()
                if job.ticket.cancelled.is_set():
                    job.finish("cancelled")
                    continue
                spent += len(job.ids)
                try:
                    with torch.inference_mode():
                        batch.join(job)
                except Exception as error:  # one bad request must not kill the worker
                    log.exception("prefill failed")
                    job.fail(error)
            if batch:
                self._count(len(batch))
                try:
                    with torch.inference_mode():
                        batch.step()
                except Exception as error:
                    log.exception("decoding step failed")
                    batch.fail(error)

    def _count(self, rows: int) -> None:
        """One decoding pass over ``rows`` requests."""
        self.steps += 1
        self.rows += rows
        self.peak_rows = max(self.peak_rows, rows)

    def _gather(self, waiting: deque[Job], block: bool, room: int) -> bool:
        """Move queued requests to ``waiting`` (blocking when idle); False on shutdown."""
        while room > 0:
            try:
                job = self._queue.get() if block else self._queue.get_nowait()
            except queue.Empty:
                return True
            if job is None:
                return False
            waiting.append(job)
            block, room = False, room - 1
        return True

    def _micro_batches(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            deadline = time.perf_counter() + self.config.max_wait_ms / 1000
            while len(batch) < self.config.max_batch:
                remaining = deadline - time.perf_counter()
                try:
                    job = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if job is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(job)
            live = [j for j in batch if not j.ticket.cancelled.is_set()]
            for j in batch:
                if j.ticket.cancelled.is_set():
                    j.finish("cancelled")
            # One batch per decoding mode: greedy and sampled rows cannot share a generate call.
            groups: dict[tuple[float, float], list[Job]] = {}
            for j in live:
                groups.setdefault((j.settings.temperature, j.settings.top_p), []).append(j)
            for group in groups.values():
                self._count(len(group))
                try:
                    generate_batch(
                        self.model,
                        group,
                        self.device,
                        self._decoder.pad_token_id,
                        self.eos,
                        self.compiled,
                        bool(self.adapters),
                    )
                except Exception as error:  # a bad batch must not kill the worker
                    log.exception("generation failed")
                    for j in group:
                        j.fail(error)


def chat_ids(tokenizer, messages: Messages) -> list[int]:
    """Prompt ids of chat ``messages``, generation prompt included (the template adds BOS)."""
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def eos_ids(model, tokenizer) -> frozenset[int]:
    """Every token that ends a turn: the generation config's and the tokenizer's."""
    ids = model.generation_config.eos_token_id
    found = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return frozenset(found)


def _with_adapters(model, config: RuntimeConfig):
    """Wrap the base in PEFT and load every adapter once, checking each was trained on it."""
    from peft import PeftModel

    wrapped = None
    for name, folder in config.adapters.items():
        folder = Path(folder)
        if not (folder / "adapter_config.json").is_file():
            raise ValueError(f"runtime.adapters.{name}: {folder} holds no adapter_config.json")
        card_base = _card_base(folder)
        if card_base is not None and card_base != config.base_model:
            raise ValueError(
                f"runtime.adapters.{name}: trained on {card_base!r}, not on runtime.base_model "
                f"{config.base_model!r}"
            )
        if wrapped is None:
            wrapped = PeftModel.from_pretrained(model, str(folder), adapter_name=name)
        else:
            wrapped.load_adapter(str(folder), adapter_name=name)
    return wrapped


def _card_base(folder: Path) -> str | None:
    try:
        return read_card(folder).base_model
    except FileNotFoundError:
        return None  # an adapter trained elsewhere: PEFT still checks the shapes
