"""Serving benchmark: `hybrid serve` under 1, 4 and 16 streaming clients vs sequential generate.

A temporary index of the sample policies and a `bench` route (cited answers, ~600-token RAG
prompts, greedy) are served by a real `hybrid serve` subprocess; an async httpx load generator
measures completion tokens/s, p50/p95 latency, time to first token and errors per concurrency
level. After the server stops, the same composed prompts go through plain ``model.generate``
one at a time (fp32, and bf16 where fast) in this process: the ratios are server / sequential fp32.

    .venv/bin/python benchmarks/bench_serve.py                 # 1, 4, 16 clients x 4 requests
    .venv/bin/python benchmarks/bench_serve.py --quick         # smoke: 1, 4 clients x 1 request
    .venv/bin/python benchmarks/bench_serve.py --random-shape  # GPU, random SmolLM2-shape weights
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/serve/process.py
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
)

from hybrid.answer.router import Composition, Router  # noqa: E402
from hybrid.cli.knowledge import SAMPLES  # noqa: E402
from hybrid.config import parse_config  # noqa: E402
from hybrid.knowledge.embedder import Embedder  # noqa: E402
from hybrid.knowledge.sync import sync_folder  # noqa: E402
from hybrid.models.base import EMBEDDED_LLM, load_base, prepare_embedded  # noqa: E402
from hybrid.precision import best_device, cpu_has_fast_bf16, resolve_dtype  # noqa: E402
from hybrid.runtime.local import chat_ids, eos_ids  # noqa: E402
from tests.serve.process import start_server  # noqa: E402

ROUTE = "bench"
QUESTIONS = (
    "How many days do I have to return an unused item?",
    "Can I return something I bought in the sale?",
    "Who pays for return shipping?",
    "How long does a refund take to reach my card?",
    "How much does standard delivery cost?",
    "Do you ship to Switzerland and Norway?",
    "How fast is express delivery?",
    "What happens if my parcel is lost or arrives damaged?",
    "How long is the warranty on a tent?",
    "Does the warranty cover accidental damage?",
    "How do I make a warranty claim?",
    "What personal data do you collect when I order?",
    "Do you share my personal data with third parties?",
    "How can I ask you to delete my data?",
    "When is customer support open at the weekend?",
    "How can I reach support by phone or live chat?",
)


@dataclass
class Sample:
    """One streamed request as the client saw it."""

    latency_s: float
    first_token_s: float | None
    completion_tokens: int
    prompt_tokens: int
    error: str | None = None


class _Counter:
    """Just enough of an engine for ``Router.compose``: LocalEngine's token count and window."""

    def __init__(self, tokenizer, context_window: int):
        self.tokenizer, self.context_window = tokenizer, context_window

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return len(chat_ids(self.tokenizer, messages))


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    return f"cpu ({os.cpu_count()} cores)"


def random_model(folder: Path) -> str:
    """Random weights of the embedded model's shape, with its tokenizer (GPU speed checks)."""
    source = prepare_embedded()
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(source)
    AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return str(folder)


def recipe(index_dir: Path, base: str, top_k: int, max_new_tokens: int) -> dict:
    return {
        "index_dir": str(index_dir),
        "runtime": {"base_model": base, "adapters": {}, "max_batch": 16, "max_queue": 256},
        "routes": {
            ROUTE: {
                "collections": ["acme-policies"],
                "template": "prompts/cited_answer.j2",
                "evidence": {"unit": "chunks"},  # whole chunks: the long-prompt serving load
                "top_k": top_k,
                "min_similarity": -1.0,  # never refuse: every request generates
                "generation": {"max_new_tokens": max_new_tokens, "temperature": 0.0},
            }
        },
        "serve": {"limits": {"per_key_concurrency": 256, "request_timeout_s": 600}},
    }


async def chat(client: httpx.AsyncClient, question: str) -> Sample:
    """One streamed chat request; time to first token = first chunk with text."""
    body = {
        "model": ROUTE,
        "messages": [{"role": "user", "content": question}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    first, usage, done, error = None, {}, False, None
    try:
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            if response.status_code != 200:
                error = f"HTTP {response.status_code}: {(await response.aread())[:200]!r}"
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or error:
                    continue
                if line == "data: [DONE]":
                    done = True
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    error = str(event["error"].get("message"))
                for choice in event.get("choices", []):
                    if choice["delta"].get("content") and first is None:
                        first = time.perf_counter() - started
                usage = event.get("usage") or usage
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}"
    if error is None and not (done and usage):
        error = "stream ended without usage and [DONE]"
    return Sample(
        time.perf_counter() - started,
        first,
        int(usage.get("completion_tokens", 0)),
        int(usage.get("prompt_tokens", 0)),
        error,
    )


async def load(url: str, clients: int, requests: int) -> tuple[list[Sample], float]:
    """``clients`` concurrent clients, each sending ``requests`` questions one after another."""

    async def client_loop(client: httpx.AsyncClient, c: int) -> list[Sample]:
        return [
            await chat(client, QUESTIONS[(c * requests + r) % len(QUESTIONS)])
            for r in range(requests)
        ]

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=900, limits=limits) as client:
        started = time.perf_counter()
        per_client = await asyncio.gather(*(client_loop(client, c) for c in range(clients)))
        wall = time.perf_counter() - started
    return [s for samples in per_client for s in samples], wall


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.array(values), q)) if values else None


def level_stats(clients: int, samples: list[Sample], wall: float) -> dict:
    ok = [s for s in samples if s.error is None]
    tokens = sum(s.completion_tokens for s in ok)
    firsts = [s.first_token_s for s in ok if s.first_token_s is not None]
    return {
        "clients": clients,
        "requests": len(samples),
        "errors": len(samples) - len(ok),
        "error_examples": sorted({s.error for s in samples if s.error})[:3],
        "completion_tokens": tokens,
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "latency_p50_s": pct([s.latency_s for s in ok], 50),
        "latency_p95_s": pct([s.latency_s for s in ok], 95),
        "ttft_p50_s": pct(firsts, 50),
        "ttft_p95_s": pct(firsts, 95),
        "prompt_tokens_p50": pct([s.prompt_tokens for s in ok], 50),
    }


def sequential(base: str, dtype: str, prompts: list[list[int]], max_new: int, ttft_ids) -> dict:
    """Plain ``model.generate``, one prompt at a time, and its first-token latency."""
    device = best_device()
    model, tokenizer = load_base(base, dtype, device)  # type: ignore[arg-type]
    model.eval()
    eos = eos_ids(model, tokenizer)

    def generate(ids: list[int], new_tokens: int) -> list[int]:
        gen = GenerationConfig(
            max_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=sorted(eos),
        )
        tensor = torch.tensor([ids], device=device)
        out = model.generate(
            input_ids=tensor, attention_mask=torch.ones_like(tensor), generation_config=gen
        )
        return out[0, len(ids) :].tolist()  # .tolist() waits for the device

    with torch.inference_mode():
        generate(prompts[0], 4)  # warm-up
        tokens, started = 0, time.perf_counter()
        for ids in prompts:
            new = generate(ids, max_new)
            tokens += next((i for i, t in enumerate(new) if t in eos), len(new))
        wall = time.perf_counter() - started
        firsts = []
        for _ in range(5):
            t0 = time.perf_counter()
            generate(ttft_ids, 1)
            firsts.append(time.perf_counter() - t0)
    return {
        "dtype": dtype,
        "prompts": len(prompts),
        "completion_tokens": tokens,
        "tokens_per_s": tokens / wall,
        "first_token_s": pct(firsts, 50),
        "first_token_prompt_tokens": len(ttft_ids),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4, help="requests per client")
    parser.add_argument("--clients", default="1,4,16", help="concurrency levels")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument(
        "--top-k", type=int, default=3, help="chunks per prompt (3: median 667 tokens)"
    )
    parser.add_argument("--random-shape", action="store_true", help="random SmolLM2-shape weights")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 request, 1,4 clients")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.requests = 1
        args.clients = "1,4" if args.clients == "1,4,16" else args.clients
    levels = [int(c) for c in args.clients.split(",")]
    torch.set_num_threads(os.cpu_count() or 1)
    device = device_name()
    server_dtype = str(resolve_dtype("auto", best_device())).removeprefix("torch.")
    print(f"device: {device}; server dtype {server_dtype}")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = random_model(tmp / "random-smollm2") if args.random_shape else EMBEDDED_LLM
        data = recipe(tmp / "indexes", base, args.top_k, args.max_new_tokens)
        config = parse_config(data)
        embedder = Embedder(config.embedder)
        report = sync_folder("acme-policies", SAMPLES, config.knowledge, embedder)
        assert not report.failed, report.failed
        path = base if args.random_shape else str(prepare_embedded())
        tokenizer = AutoTokenizer.from_pretrained(path)
        window = int(AutoConfig.from_pretrained(path).max_position_embeddings)
        router = Router(config, _Counter(tokenizer, window), embedder)  # type: ignore[arg-type]
        used = QUESTIONS[: min(len(QUESTIONS), max(levels) * args.requests)]
        comps: list[Composition] = [
            router.compose(ROUTE, [{"role": "user", "content": q}]) for q in used
        ]
        lengths = sorted(c.prompt_tokens for c in comps)
        median_prompt = lengths[len(lengths) // 2]
        print(f"prompts: {len(comps)}, median {median_prompt} tokens (top_k {args.top_k})")
        del router, embedder

        print("starting hybrid serve...")
        server = start_server(data, tmp / "server", timeout_s=900)  # CUDA compiles first
        url = server.url
        results = []
        try:
            asyncio.run(load(url, 1, 1))  # warm-up: first generate, retriever load
            for clients in levels:
                samples, wall = asyncio.run(load(url, clients, args.requests))
                results.append(level_stats(clients, samples, wall))
                print(f"  {clients:2d} clients: {results[-1]['tokens_per_s']:.1f} tokens/s")
        finally:
            server.stop()
        if any(r["errors"] for r in results):
            print(server.log_tail())

        prompts = [chat_ids(tokenizer, c.messages) for c in comps]
        ttft_ids = next(p for p, c in zip(prompts, comps) if c.prompt_tokens == median_prompt)
        dtypes = ["fp32"] + (["bf16"] if torch.cuda.is_available() or cpu_has_fast_bf16() else [])
        baselines = {}
        for dtype in dtypes:
            print(f"plain model.generate, {dtype}, one prompt at a time...")
            baselines[dtype] = sequential(path, dtype, prompts, args.max_new_tokens, ttft_ids)

    fp32 = baselines["fp32"]["tokens_per_s"]
    print(
        f"\n{'clients':>7} {'reqs':>5} {'errors':>6} {'tokens':>6} {'tok/s':>7} {'x fp32':>7} "
        f"{'p50 lat':>8} {'p95 lat':>8} {'p50 TTFT':>9} {'p95 TTFT':>9}"
    )
    for r in results:
        r["ratio_vs_sequential_fp32"] = r["tokens_per_s"] / fp32
        print(
            f"{r['clients']:>7} {r['requests']:>5} {r['errors']:>6} {r['completion_tokens']:>6} "
            f"{r['tokens_per_s']:>7.1f} {r['ratio_vs_sequential_fp32']:>6.2f}x "
            f"{r['latency_p50_s']:>7.2f}s {r['latency_p95_s']:>7.2f}s "
            f"{1000 * (r['ttft_p50_s'] or 0):>7.0f}ms {1000 * (r['ttft_p95_s'] or 0):>7.0f}ms"
        )
    for dtype, b in baselines.items():
        print(
            f"sequential {dtype}: {b['tokens_per_s']:.1f} tokens/s over {b['prompts']} prompts; "
            f"first token after {b['first_token_prompt_tokens']} prompt tokens "
            f"{1000 * b['first_token_s']:.0f} ms"
        )
    by_clients = {r["clients"]: r for r in results}
    targets = {}
    if 16 in by_clients:
        targets["x5_at_16_clients"] = by_clients[16]["ratio_vs_sequential_fp32"] >= 5
    if 1 in by_clients and by_clients[1]["ttft_p50_s"] is not None:
        targets["ttft_p50_le_300ms_at_1_client"] = by_clients[1]["ttft_p50_s"] <= 0.3
    targets["no_errors"] = not any(r["errors"] for r in results)
    print("targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in targets.items()))

    slug = re.sub(r"[^a-z0-9]+", "-", device.lower()).strip("-")[:48]
    out = args.out or Path(f"benchmarks/results/serve-{slug}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    result = {
        "device": device,
        "model": "random SmolLM2-135M shape" if args.random_shape else EMBEDDED_LLM,
        "server_dtype": server_dtype,
        "settings": settings,
        "prompt_tokens_median": median_prompt,
        "levels": results,
        "sequential": baselines,
        "targets": targets,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
