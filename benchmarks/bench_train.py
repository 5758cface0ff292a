"""Training benchmark: TRL SFTTrainer defaults vs this project's recipe, same data and steps.

Trained (non-padding) tokens/s and peak RSS for (a) TRL's defaults (fp32 weights + bf16
autocast, gradient checkpointing, padded batches) and (b) hybrid's recipe (bf16 weights where
the CPU is fast, no checkpointing at this scale, length-grouped batches, assistant-only mask).
Each arm runs in a fresh child process so its peak RSS is its own; this process prints both.

    .venv/bin/python benchmarks/bench_train.py                 # SmolLM2-135M, Bitext, 12 steps
    .venv/bin/python benchmarks/bench_train.py --random-shape llama-8b --device cuda   # GPU
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import resource
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BITEXT = Path("../shared/data/support/bitext_customer_support.csv")
TINY = dict(  # 2 layers: smoke runs on a CPU
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, vocab_size=49152,
)  # fmt: skip
SHAPES = {  # random weights of these shapes for GPU speed checks (no download possible)
    "tiny": TINY,
    "smollm2-135m": dict(
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        vocab_size=49152,
    ),
    "llama-8b": dict(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=128256,
    ),
}


def conversations(n: int, synthetic_words: int = 0) -> list[list[dict[str, str]]]:
    """Bitext turns, or (``synthetic_words``) random-word turns that fill max_length."""
    if synthetic_words:
        import random

        rng = random.Random(0)
        vocab = [f"w{i}" for i in range(5000)]

        def words(k: int) -> str:
            return " ".join(rng.choice(vocab) for _ in range(k))

        return [
            [
                {"role": "user", "content": words(synthetic_words // 8)},
                {"role": "assistant", "content": words(synthetic_words)},
            ]
            for _ in range(n)
        ]
    with open(BITEXT, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    step = max(1, len(rows) // n)
    return [
        [
            {"role": "user", "content": r["instruction"]},
            {"role": "assistant", "content": r["response"]},
        ]
        for r in rows[::step][:n]
    ]


class StepClock:
    """Times each optimizer step and counts the non-padding tokens the trainer fed."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.tokens: list[int] = []
        self._start = 0.0

    def callback(self):
        from transformers import TrainerCallback

        clock = self

        class _Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                clock._start = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                clock.times.append(time.perf_counter() - clock._start)

        return _Callback()

    def wrap(self, collator):
        def collate(examples):
            batch = collator(examples)
            self.tokens.append(
                int(batch["attention_mask"].sum())
                if "attention_mask" in batch
                else int(batch["input_ids"].numel())
            )
            return batch

        return collate


def run_arm(arm: str, args: dict, queue) -> None:
    import torch
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from hybrid.behaviour.train import build_trainer
    from hybrid.config import LoraSettings, TrainConfig
    from hybrid.models.base import EMBEDDED_LLM, resolve_base

    torch.manual_seed(0)
    data = conversations(args["examples"], args["synthetic_words"])
    out = Path(args["tmp"]) / arm
    base = resolve_base(EMBEDDED_LLM) if not args["random_shape"] else random_model(args)
    cuda = torch.cuda.is_available()
    if arm == "trl-defaults":
        from datasets import Dataset

        config = SFTConfig(
            output_dir=str(out),
            max_steps=args["steps"],
            report_to=[],
            per_device_train_batch_size=args["batch"],
            use_cpu=not cuda,
            save_strategy="no",
            disable_tqdm=True,
            max_length=args["max_length"],
        )
        trainer = SFTTrainer(
            model=base,
            args=config,
            train_dataset=Dataset.from_dict({"messages": data}),
            peft_config=LoraConfig(
                r=16,
                lora_alpha=32,
                task_type="CAUSAL_LM",
                target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            ),
        )
    else:
        config = TrainConfig(
            base_model=base,
            max_steps=args["steps"],
            batch_size=args["batch"],
            max_length=args["max_length"],
            eval_steps=10**6,
            early_stopping_patience=0,
            lora=LoraSettings(r=16, alpha=32),
        )
        trainer, _ = build_trainer(config, data, [], out, progress=False)
        trainer.args.save_strategy = "no"
    clock = StepClock()
    trainer.add_callback(clock.callback())
    trainer.data_collator = clock.wrap(trainer.data_collator)
    trainer.train()
    warm = args["warmup"]
    tokens, seconds = sum(clock.tokens[warm : len(clock.times)]), sum(clock.times[warm:])
    peak_gpu = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    queue.put(
        {
            "arm": arm,
            "tokens_per_s": tokens / seconds,
            "steps_timed": len(clock.times) - warm,
            "median_step_s": statistics.median(clock.times[warm:]),
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "peak_gpu_gib": peak_gpu,
            "dtype": str(trainer.model.dtype),
        }
    )


def random_model(args: dict) -> str:
    """Save random weights of a named shape (with the embedded tokenizer) and return the path."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from hybrid.models.base import EMBEDDED_LLM, resolve_base

    folder = Path(args["tmp"]) / f"random-{args['random_shape']}"
    if not folder.exists():
        shape = SHAPES[args["random_shape"]]
        with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
            config = LlamaConfig(**shape, max_position_embeddings=4096, dtype="bfloat16")
            model = LlamaForCausalLM._from_config(config, dtype=torch.bfloat16)
        model.save_pretrained(folder)
        del model
        source = args["tokenizer"] or resolve_base(EMBEDDED_LLM)
        AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2, help="steps left out of the timing")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--random-shape", choices=sorted(SHAPES), default=None)
    parser.add_argument(
        "--synthetic-words",
        type=int,
        default=0,
        help="random-word turns of this many words instead of Bitext",
    )
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder for random shapes")
    parser.add_argument("--arms", default="trl-defaults,hybrid")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_train.json"))
    args = parser.parse_args()
    import tempfile

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = vars(args) | {"tmp": tmp, "out": str(args.out), "max_length": args.max_length}
        context = mp.get_context("spawn")
        for arm in args.arms.split(","):
            queue = context.Queue()
            child = context.Process(target=run_arm, args=(arm, settings, queue))
            child.start()
            result = None
            while result is None:  # a crashed child must not leave us waiting forever
                try:
                    result = queue.get(timeout=5)
                except Exception as waiting:
                    if not child.is_alive():
                        raise SystemExit(f"{arm} arm failed (exit {child.exitcode})") from waiting
            child.join()
            results.append(result)
            print(
                f"{arm:13s} {result['tokens_per_s']:8.1f} tokens/s  median step "
                f"{result['median_step_s']:.2f} s  peak RSS {result['peak_rss_gib']:.2f} GiB"
                + (f"  peak GPU {result['peak_gpu_gib']:.1f} GiB" if result["peak_gpu_gib"] else "")
            )
    if len(results) == 2:
        ratio = results[1]["tokens_per_s"] / results[0]["tokens_per_s"]
        print(f"\nratio (b)/(a): {ratio:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"settings": {k: v for k, v in vars(args).items() if k != "out"}, "results": results},
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
