"""Guarded generation: loops end, echoes of the prompt are cut, repetition is controlled on
generated tokens only; on a tiny model forced to repeat one token, through both schedulers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hybrid.config import GenerationSettings, RuntimeConfig
from hybrid.runtime.engine import Event, Ticket
from hybrid.runtime.job import Job, first_stop, held_back, looping
from hybrid.runtime.local import LocalEngine
from hybrid.runtime.scheduler import guard


def test_looping_needs_two_copies_of_a_sentence_or_three_of_a_phrase():
    sentence = list(range(10))
    assert looping(sentence + sentence) and not looping(sentence + sentence[:9])
    assert looping([1, 2, 3] * 3) and not looping([1, 2, 3] * 2)
    assert not looping([7, 7]) and not looping(list(range(40)))


def test_stop_strings_cut_and_hold_back():
    assert first_stop("Fees apply. Question: why", ("Question:",)) == 12
    assert first_stop("Fees apply.", ("Question:",)) is None
    assert held_back("Fees apply. Quest", ("Question:",)) == 5
    assert held_back("Fees apply.", ("Question:",)) == 0


def _job(tokenizer, settings: GenerationSettings) -> tuple[Job, list[Event]]:
    events: list[Event] = []
    return Job([1], settings, None, Ticket(events.append), tokenizer, frozenset()), events


def test_a_job_ends_before_an_echo_of_the_prompt(smol_tokenizer):
    job, events = _job(smol_tokenizer, GenerationSettings())
    for token in smol_tokenizer.encode("Refunds take 5 days [1]. Question: How long?"):
        if job.push(token):
            break
    text = "".join(e.text for e in events if e.text)
    # The space before the stop string was already streamed; nothing after it was.
    assert text.rstrip() == "Refunds take 5 days [1]." and events[-1].finish_reason == "stop"
    plain, events = _job(smol_tokenizer, GenerationSettings(max_new_tokens=4))
    for token in smol_tokenizer.encode("Refunds take five working days"):
        if plain.push(token):
            break
    streamed = "".join(e.text for e in events if e.text)
    assert streamed == smol_tokenizer.decode(plain.out) and events[-1].finish_reason == "length"


def test_guard_counts_generated_tokens_only(smol_tokenizer):
    settings = GenerationSettings(repetition_penalty=2.0, no_repeat_ngram=2)
    job, _ = _job(smol_tokenizer, settings)
    job.ids = [5, 6, 7]  # the prompt: never penalised
    job.out = [3, 4, 3]  # generated: 3 then 4 followed a 3 before
    logits = torch.ones((1, 10))
    guarded = guard(logits.clone(), [job])[0]
    assert guarded[5] == guarded[6] == guarded[7] == 1.0  # prompt tokens untouched
    assert guarded[3] == 0.5  # generated before: penalised
    assert guarded[4] == float("-inf")  # "3 4" again would repeat a bigram


@pytest.fixture(scope="module")
def repeater(tiny_llama: Path, smol_tokenizer, tmp_path_factory) -> tuple[Path, int]:
    """The tiny Llama rewired so that every step's best token is " again": constant
    embeddings, silent layers, and an output head that only knows that token."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, tie_word_embeddings=False)
    token = smol_tokenizer.encode(" again")[0]
    with torch.no_grad():
        model.model.embed_tokens.weight.fill_(1.0)
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.lm_head.weight.zero_()
        model.lm_head.weight[token] = 1.0
    folder = tmp_path_factory.mktemp("repeater")
    model.save_pretrained(folder)
    smol_tokenizer.save_pretrained(folder)
    return folder, token


@pytest.mark.parametrize("batching", ["continuous", "micro"])
def test_a_looping_model_is_stopped(repeater, batching):
    folder, token = repeater
    engine = LocalEngine(
        RuntimeConfig(base_model=str(folder), dtype="fp32", device="cpu", batching=batching)
    )
    prompt = [{"role": "user", "content": "Say something."}]
    try:
        free = engine.submit(prompt, GenerationSettings(max_new_tokens=40, stop_loops=False))
        unguarded = free.result(timeout=60)
        guarded = engine.submit(prompt, GenerationSettings(max_new_tokens=40)).result(timeout=60)
        ngram = GenerationSettings(max_new_tokens=40, stop_loops=False, no_repeat_ngram=1)
        varied = engine.submit(prompt, ngram).result(timeout=60)
    finally:
        engine.close()
    assert unguarded.completion_tokens == 40 and unguarded.text.count("again") == 40
    assert guarded.completion_tokens == 9 and guarded.finish_reason == "length"  # 3 x 3 tokens
    assert varied.text.count("again") == 1  # the only token it knows, said once
