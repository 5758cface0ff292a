"""The loss mask covers exactly the assistant turns, for templates without generation markers.

The Llama-3 and Qwen2 templates are the published Jinja templates (their tokenizers cannot be
downloaded here), applied to the embedded tokenizer: what is under test is the span logic.
"""

import copy

import pytest

from hybrid.behaviour.masking import tokenise

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)
QWEN2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
END_OF_TURN = {"smollm2": "<|im_end|>", "llama3": "<|eot_id|>", "qwen2": "<|im_end|>"}
CONVERSATION = [
    {"role": "system", "content": "You are a support agent."},
    {"role": "user", "content": "Where is my order?"},
    {"role": "assistant", "content": "It ships within 2 days."},
    {"role": "user", "content": "And the refund?"},
    {"role": "assistant", "content": "Refunds take 5 business days."},
]


@pytest.mark.parametrize("template", ["smollm2", "llama3", "qwen2"])
def test_mask_covers_exactly_the_assistant_turns(smol_tokenizer, template):
    tokenizer = copy.deepcopy(smol_tokenizer)
    if template == "llama3":
        # As in the real Llama-3 tokenizer, its markers are single special tokens.
        markers = ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        tokenizer.add_special_tokens({"additional_special_tokens": markers})
        tokenizer.chat_template = LLAMA3
    elif template == "qwen2":
        tokenizer.chat_template = QWEN2
    assert "{% generation %}" not in tokenizer.chat_template
    item = tokenise(tokenizer, CONVERSATION)
    eot = END_OF_TURN[template]
    # Each span is the assistant's reply plus the end-of-turn marker (and the template's
    # trailing newline, if any): the model learns what to say and when to stop.
    replies = [item.text[a:b] for a, b in item.spans]
    assert [r.split(eot)[0] for r in replies] == [
        m["content"] for m in CONVERSATION if m["role"] == "assistant"
    ]
    assert all(r.startswith(c) and eot in r for r, c in zip(replies, ["It ships", "Refunds"]))
    trained = tokenizer.decode([t for t, m in zip(item.input_ids, item.assistant_masks) if m])
    assert trained == "".join(replies)
    untrained = tokenizer.decode([t for t, m in zip(item.input_ids, item.assistant_masks) if not m])
    for message in CONVERSATION:
        if message["role"] != "assistant":
            assert message["content"] in untrained


def test_truncation_and_alignment(smol_tokenizer):
    item = tokenise(smol_tokenizer, CONVERSATION, max_length=10)
    assert len(item.input_ids) == len(item.assistant_masks) == 10
