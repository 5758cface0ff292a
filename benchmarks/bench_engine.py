"""Engine benchmark: the compiled micro-batch path vs continuous batching, in one process.

The server's in-process engine (``hybrid/runtime/local.py``) has two ways to batch: continuous
batching (the default on CPU) and, on CUDA, micro-batches through ``generate`` with a static
KV cache and ``torch.compile``. This runs the same random-token prompts (``--prompt-tokens``
each, ``--new-tokens`` out, no stop string, loop guard off) through both at 1, 8 and 32
concurrent requests and prints completion tokens/s, first-token latency and the ratio
compiled / continuous. The first round of each level is the warm-up (compiling its shapes) and
is reported apart. With ``--adapter`` every request goes through that LoRA adapter, as the
default routes do with the shipped answerer.

    .venv/bin/python benchmarks/bench_engine.py --shape tiny --modes off   # CPU smoke run
    python3 benchmarks/bench_engine.py --shape smollm2-135m --tokenizer .gpu/tokenizer \
        --adapter hybrid/adapters/answerer                                  # GPU (device)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_train.SHAPES

from bench_train import SHAPES  # noqa: E402


def random_model(folder: Path, shape: str, tokenizer: str | None) -> Path:
    """Random bf16 weights of ``shape`` beside a real tokenizer (no download possible)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from hybrid.models.base import EMBEDDED_LLM, resolve_base

    config = LlamaConfig(**SHAPES[shape], max_position_embeddings=4096, dtype="bfloat16")
    torch.manual_seed(0)
    LlamaForCausalLM._from_config(config, dtype=torch.bfloat16).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tokenizer or resolve_base(EMBEDDED_LLM)).save_pretrained(folder)
    return folder


def prompts(n: int, length: int, seed: int) -> list[list[dict[str, str]]]:
    """``n`` chat prompts of about ``length`` tokens of random words."""
    import random

    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(5000)]  # "w123" is about 2 tokens
    return [
        [{"role": "user", "content": " ".join(rng.choice(vocab) for _ in range(length // 2))}]
        for _ in range(n)
    ]


def level(engine, clients: int, args: argparse.Namespace, settings, adapter: str | None) -> dict:
    """``rounds`` waves of ``clients`` concurrent requests; wave 0 is the warm-up."""
    waves = []
    for wave in range(args.rounds + 1):
        batch = prompts(clients, args.prompt_tokens, seed=wave)
        start = time.perf_counter()
        tickets = [engine.submit(m, settings, adapter) for m in batch]
        done = [t.result() for t in tickets]
        wall = time.perf_counter() - start
        errors = [c.error for c in done if c.error]
        if errors:
            raise SystemExit(f"{clients} clients: {errors[0]}")
        waves.append(
            {
                "wall_s": wall,
                "tokens": sum(c.completion_tokens for c in done),
                "ttft_s": statistics.median(c.first_token_s or wall for c in done),
            }
        )
    warm, timed = waves[0], waves[1:]
    return {
        "clients": clients,
        "warmup_s": warm["wall_s"],
        "tokens_per_s": sum(w["tokens"] for w in timed) / sum(w["wall_s"] for w in timed),
        "wall_p50_s": statistics.median(w["wall_s"] for w in timed),
        "ttft_p50_s": statistics.median(w["ttft_s"] for w in timed),
        "tokens_per_request": timed[0]["tokens"] / clients,
    }


def run(mode: str, base: Path, adapter: Path | None, args: argparse.Namespace) -> dict:
    import torch

    from hybrid.config import GenerationSettings, RuntimeConfig
    from hybrid.runtime.local import LocalEngine

    adapters = {"answerer": adapter} if adapter else {}
    engine = LocalEngine(
        RuntimeConfig(
            base_model=str(base),
            adapters=adapters,
            compile=mode,
            max_batch=max(args.clients),
            max_wait_ms=20.0,
            max_queue=4 * max(args.clients),
        )
    )
    settings = GenerationSettings(max_new_tokens=args.new_tokens, stop=(), stop_loops=False)
    started = time.perf_counter()
    try:
        levels = [
            level(engine, c, args, settings, "answerer" if adapter else None) for c in args.clients
        ]
    finally:
        engine.close()
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    return {
        "mode": mode,
        "compiled": engine.compiled,
        "continuous": engine.continuous,
        "device": engine.device,
        "total_s": time.perf_counter() - started,
        "peak_gpu_gib": peak,
        "levels": levels,
    }


def main() -> None:
    args = parse()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        base = random_model(Path(tmp) / "base", args.shape, args.tokenizer)
        adapter = None
        if args.adapter:  # without its card: the card names the embedded base, not this one
            adapter = Path(tmp) / "adapter"
            shutil.copytree(args.adapter, adapter, ignore=shutil.ignore_patterns("card.json"))
        for mode in args.modes:
            result = run(mode, base, adapter, args)
            results.append(result)
            write(args, results)  # a mode that later runs out of time keeps this one's numbers
            for r in result["levels"]:
                print(
                    f"compile {mode:3s} {r['clients']:3d} clients: {r['tokens_per_s']:8.1f} "
                    f"tokens/s  first token p50 {1000 * r['ttft_p50_s']:7.1f} ms  "
                    f"warm-up {r['warmup_s']:6.1f} s",
                    flush=True,
                )
    if len(results) == 2:
        for a, b in zip(results[0]["levels"], results[1]["levels"]):
            ratio = b["tokens_per_s"] / a["tokens_per_s"]
            print(f"{a['clients']:3d} clients: {args.modes[1]} / {args.modes[0]} = {ratio:.2f}x")
    print(f"wrote {args.out}")


def write(args: argparse.Namespace, results: list[dict]) -> None:
    import torch

    card = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    args.out.write_text(
        json.dumps({"device": card, "settings": settings, "results": results}, indent=2) + "\n"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder (default: embedded)")
    parser.add_argument("--adapter", type=Path, default=None, help="LoRA folder every request uses")
    parser.add_argument("--modes", type=lambda s: s.split(","), default=["off", "on"])
    parser.add_argument(
        "--clients", type=lambda s: [int(c) for c in s.split(",")], default=[1, 8, 32]
    )
    parser.add_argument("--rounds", type=int, default=2, help="timed waves per level")
    parser.add_argument("--prompt-tokens", type=int, default=600)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_engine.json"))
    return parser.parse_args()


if __name__ == "__main__":
    main()
