"""LocalEngine on a tiny random Llama: batching is invisible in the results, adapters are per
request (mixed in one batch), streaming, cancellation, back-pressure."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from hybrid.config import GenerationSettings, RuntimeConfig
from hybrid.runtime import Overloaded
from hybrid.runtime.local import LocalEngine

PROMPTS = ["Hello there", "What is a refund?", "Tell me about shipping to Norway please", "Hi"]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def engine_for(model: Path, **runtime) -> LocalEngine:
    return LocalEngine(RuntimeConfig(base_model=str(model), dtype="fp32", device="cpu", **runtime))


@pytest.fixture(scope="module")
def adapters(tiny_llama: Path, tmp_path_factory) -> dict[str, Path]:
    """Two random LoRA adapters (B != 0, so each really changes the output)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    folders = {}
    for seed, name in enumerate(("alpha", "beta")):
        torch.manual_seed(seed + 1)
        base = AutoModelForCausalLM.from_pretrained(tiny_llama)
        lora = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"])
        lora.init_lora_weights = False  # random A and B: a visible effect, like a trained one
        model = get_peft_model(base, lora)
        folder = tmp_path_factory.mktemp(name)
        model.save_pretrained(folder)
        (folder / "card.json").write_text(json.dumps({"name": name, "base_model": str(tiny_llama)}))
        folders[name] = folder
    return folders


@pytest.mark.parametrize("batching", ["continuous", "micro", "compiled"])
def test_concurrent_requests_are_batched_and_match_one_at_a_time(tiny_llama: Path, batching):
    # "compiled": compile on (static KV cache, bucketed micro-batches), here on the CPU.
    options = {"compile": "on"} if batching == "compiled" else {"batching": batching}
    engine = engine_for(tiny_llama, max_batch=8, max_wait_ms=200, **options)
    settings = GenerationSettings(max_new_tokens=12)
    try:
        alone = [engine.submit(user(p), settings).result(timeout=60) for p in PROMPTS]
        assert engine.peak_rows == 1
        tickets = [engine.submit(user(p), settings) for p in PROMPTS]
        together = [t.result(timeout=60) for t in tickets]
    finally:
        engine.close()
    assert engine.continuous == (batching == "continuous")
    assert engine.compiled == (batching == "compiled")
    assert engine.peak_rows == 4  # all four decoded together
    assert [c.text for c in together] == [c.text for c in alone]
    assert all(c.completion_tokens > 0 for c in together)
    assert together[0].prompt_tokens < together[2].prompt_tokens  # left-padded, not truncated


@pytest.mark.parametrize("batching", ["continuous", "micro"])
def test_each_request_gets_its_own_adapter_in_one_batch(tiny_llama: Path, adapters, batching):
    engine = engine_for(
        tiny_llama, adapters=adapters, max_batch=8, max_wait_ms=200, batching=batching
    )
    settings = GenerationSettings(max_new_tokens=10)
    wanted = [None, "alpha", "beta", "alpha"]
    try:
        alone = [engine.submit(user("Hello"), settings, a).result(60).text for a in wanted]
        tickets = [engine.submit(user("Hello"), settings, a) for a in wanted]
        mixed = [t.result(60).text for t in tickets]
        with pytest.raises(ValueError, match="unknown adapter 'gamma'"):
            engine.submit(user("Hello"), settings, "gamma")
    finally:
        engine.close()
    assert mixed == alone
    assert len({alone[0], alone[1], alone[2]}) == 3  # base, alpha and beta all differ
    assert alone[1] == alone[3]


def test_a_batch_on_one_adapter_skips_the_per_row_split(tiny_llama: Path, adapters):
    # PEFT's adapter_names splits every LoRA layer's input by row (1.26x slower decoding on
    # SmolLM2-135M here); one adapter for all rows runs as the active adapter, same logits.
    from hybrid.runtime.scheduler import BASE, route

    engine = engine_for(tiny_llama, adapters=adapters)
    model, ids = engine.model, torch.tensor([[1, 5, 9, 14], [1, 7, 3, 2]])
    try:
        with torch.inference_mode():
            split = model(input_ids=ids, adapter_names=["beta", "beta"]).logits
            base = model(input_ids=ids, adapter_names=[BASE, BASE]).logits
            with route(model, ["beta", "beta"]) as extra:
                assert extra == {} and model.active_adapter == "beta"
                fast = model(input_ids=ids, **extra).logits
            with route(model, [BASE, BASE]) as extra:
                plain = model(input_ids=ids, **extra).logits
            with route(model, ["alpha", BASE]) as extra:
                assert extra == {"adapter_names": ["alpha", BASE]}
    finally:
        engine.close()
    torch.testing.assert_close(fast, split)
    torch.testing.assert_close(plain, base)
    assert not torch.allclose(fast, plain)


def test_adapter_trained_on_another_base_is_refused(tiny_llama: Path, adapters, tmp_path):
    card = adapters["alpha"] / "card.json"
    original = card.read_text()
    try:
        card.write_text(
            json.dumps({"name": "alpha", "base_model": "meta-llama/Llama-3.1-8B-Instruct"})
        )
        with pytest.raises(ValueError, match="trained on 'meta-llama/Llama-3.1-8B-Instruct'"):
            engine_for(tiny_llama, adapters={"alpha": adapters["alpha"]})
    finally:
        card.write_text(original)
    with pytest.raises(ValueError, match="no adapter_config.json"):
        engine_for(tiny_llama, adapters={"empty": tmp_path})


def test_rows_stop_at_their_own_limit_and_stream_token_by_token(tiny_llama: Path):
    engine = engine_for(tiny_llama, max_wait_ms=200)
    try:
        short = engine.submit(user("Hello"), GenerationSettings(max_new_tokens=3))
        long = engine.submit(user("Hello"), GenerationSettings(max_new_tokens=20, stop_loops=False))
        events = list(long.events(timeout=60))
        result = short.result(timeout=60)
    finally:
        engine.close()
    assert result.completion_tokens <= 3
    done = events[-1]
    assert done.done and done.finish_reason in ("length", "stop")
    texts = [e.text for e in events if e.text]
    assert len(texts) > 3  # one delta per token (modulo multi-byte characters)
    if done.finish_reason == "length":
        assert done.completion_tokens == 20


def test_cancel_stops_a_request_and_a_full_queue_says_overloaded(tiny_llama: Path):
    engine = engine_for(tiny_llama, max_batch=1, max_wait_ms=0, max_queue=1)
    long = GenerationSettings(max_new_tokens=200, stop_loops=False)  # a random model loops
    try:
        first = engine.submit(user("Hello"), long)
        events = first.events(timeout=60)
        next(events)  # the worker has taken it: the queue is empty again
        second = engine.submit(user("Hi"), long)  # waits in the queue (size 1)
        with pytest.raises(Overloaded, match="1 requests are already waiting"):
            engine.submit(user("Hey"), long)
        first.cancel()
        rest = list(events)
        assert rest[-1].finish_reason == "cancelled" and rest[-1].completion_tokens < 200
        second.cancel()
        assert second.result(timeout=60).finish_reason == "cancelled"
    finally:
        engine.close()


def test_prompt_beyond_the_context_window_is_a_value_error(tiny_llama: Path):
    engine = engine_for(tiny_llama)  # the tiny model's window is 256 positions
    try:
        with pytest.raises(ValueError, match="exceeds the context window"):
            engine.submit(user("word " * 300), GenerationSettings(max_new_tokens=8))
        started = time.perf_counter()
        assert engine.submit(user("ok"), GenerationSettings(max_new_tokens=2)).result(60)
        assert time.perf_counter() - started < 30  # still serving
    finally:
        engine.close()


def test_sampling_respects_temperature_and_top_p():
    from types import SimpleNamespace

    from hybrid.runtime.scheduler import choose

    logits = torch.tensor([[0.0, 5.0, 4.9, -3.0]]).repeat(3, 1)
    rows = [
        SimpleNamespace(settings=GenerationSettings(temperature=0.0)),
        SimpleNamespace(settings=GenerationSettings(temperature=1.0, top_p=0.01)),
        SimpleNamespace(settings=GenerationSettings(temperature=1.0)),
    ]
    torch.manual_seed(0)
    seen = {i: set() for i in range(3)}
    for _ in range(200):
        for i, token in enumerate(choose(logits.clone(), rows).tolist()):
            seen[i].add(token)
    assert seen[0] == {1}  # greedy
    assert seen[1] == {1}  # top_p keeps only the most likely token
    assert {1, 2} <= seen[2]  # sampled: the close runner-up appears too
