import json
import pickle
from pathlib import Path

import pytest

from hybrid.behaviour.data import (
    DataError,
    Example,
    Message,
    detect_format,
    read_examples,
    to_dataset,
    write_openai_jsonl,
)
from hybrid.config import CsvColumns, DataConfig
from tests.conftest import SHARED, require_shared

BITEXT = SHARED / "support" / "bitext_customer_support.csv"
CHAT = {
    "messages": [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "Where is my order?"},
        {"role": "assistant", "content": "Which order number?"},
        {"role": "user", "content": "AO-123456"},
        {"role": "assistant", "content": "It ships today."},
    ]
}
SHORT_CHAT = {
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello, how can I help?"},
    ],
    "label": "greeting",
}


def _jsonl(path: Path, rows: list) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(path: Path, **options) -> list[Example]:
    return read_examples(DataConfig(path=path, **options))


def _error(path: Path, **options) -> str:
    with pytest.raises(DataError) as caught:
        _read(path, **options)
    return str(caught.value)


def test_chat_multi_turn_with_system(tmp_path):
    path = _jsonl(tmp_path / "chat.jsonl", [CHAT, "", SHORT_CHAT])
    first, second = _read(path)
    assert [m.role for m in first.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert first.messages[3] == Message("user", "AO-123456") and first.label is None
    assert first.source == f"{path}:1"
    assert second.label == "greeting" and second.source == f"{path}:3"  # blank line 2 skipped


def test_alpaca_input_follows_instruction_after_blank_line(tmp_path):
    rows = [
        {
            "instruction": "Summarise the note.",
            "input": "Refunds take 5 days.",
            "output": "5 days.",
        },
        {"instruction": "Say hi.", "input": "", "output": "Hi!"},
    ]
    with_input, without = _read(_jsonl(tmp_path / "alpaca.jsonl", rows))
    assert with_input.messages == (
        Message("user", "Summarise the note.\n\nRefunds take 5 days."),
        Message("assistant", "5 days."),
    )
    assert without.messages[0].content == "Say hi."


def test_csv_mapping_with_system_label_and_multiline_cells(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(
        'q,a,sys,intent\r\nWhere is it?,"Line one\r\nline two",Be brief.,track\r\nHi,Hello,,\r\n',
        encoding="utf-8",
    )
    columns = CsvColumns(user="q", assistant="a", system="sys", label="intent")
    first, second = _read(path, columns=columns)
    assert first.messages == (
        Message("system", "Be brief."),
        Message("user", "Where is it?"),
        Message("assistant", "Line one\nline two"),
    )
    assert first.label == "track" and second.label is None
    assert [m.role for m in second.messages] == ["user", "assistant"]
    assert second.source == f"{path}:3"  # rows counted with the header as row 1


def test_auto_format_and_bom(tmp_path):
    chat = _jsonl(tmp_path / "a.jsonl", [SHORT_CHAT])
    alpaca = _jsonl(tmp_path / "b.json", [{"instruction": "x", "output": "y"}])
    sheet = tmp_path / "c.csv"
    sheet.write_bytes("\ufeffinstruction,response\nQ,A\n".encode())
    assert [detect_format(p) for p in (chat, alpaca, sheet)] == ["chat", "alpaca", "csv"]
    assert _read(sheet)[0].messages[0].content == "Q"  # the BOM is not part of the header
    bom_chat = tmp_path / "bom.jsonl"
    bom_chat.write_bytes(b"\xef\xbb\xbf" + json.dumps(SHORT_CHAT).encode() + b"\n")
    assert _read(bom_chat)[0].label == "greeting"
    unknown = _jsonl(tmp_path / "d.jsonl", [{"prompt": "x", "completion": "y"}])
    assert "cannot tell the format" in _error(unknown) and "'prompt'" in _error(unknown)


def test_system_prompt_only_where_missing_and_limit(tmp_path):
    path = _jsonl(tmp_path / "chat.jsonl", [CHAT, SHORT_CHAT, SHORT_CHAT])
    examples = _read(path, system_prompt="Be kind.", limit=2)
    assert len(examples) == 2
    assert examples[0].messages[0].content == "You are a support agent."
    assert examples[1].messages[0] == Message("system", "Be kind.")


def test_bad_json_names_file_and_line(tmp_path):
    path = _jsonl(tmp_path / "train.jsonl", [SHORT_CHAT, "", '{"messages": [}'])
    assert _error(path, format="chat").startswith(f"{path}:3: not valid JSON")


def test_wrong_role_names_file_line_and_field(tmp_path):
    bad = json.loads(json.dumps(CHAT))
    bad["messages"][2]["role"] = "bot"
    path = _jsonl(tmp_path / "train.jsonl", [SHORT_CHAT, bad])
    expected = f"{path}:2: messages[2].role: expected one of system, user, assistant, got 'bot'"
    assert _error(path) == expected


def test_missing_output_names_the_field(tmp_path):
    path = _jsonl(tmp_path / "a.jsonl", [{"instruction": "x", "output": "y"}, {"instruction": "z"}])
    assert _error(path) == f"{path}:2: output: missing"


def test_missing_csv_column_lists_the_available_ones(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("question,answer\nQ,A\n", encoding="utf-8")
    message = _error(path, columns=CsvColumns(user="question", assistant="response"))
    assert message == (
        f"{path}:1: columns.assistant: no column 'response' in the header; "
        "available: question, answer"
    )


def test_empty_content_names_the_field(tmp_path):
    bad = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " "}]}
    path = _jsonl(tmp_path / "chat.jsonl", [bad])
    assert _error(path) == f"{path}:1: messages[1].content: expected a non-empty string, got ' '"
    sheet = tmp_path / "data.csv"
    sheet.write_text('instruction,response\nQ,"two\nlines"\nQ2,\n', encoding="utf-8")
    assert _error(sheet).startswith(f"{sheet}:3: response: expected a non-empty string")


def test_conversation_shape_and_types_are_checked(tmp_path):
    ends_with_user = {"messages": [*SHORT_CHAT["messages"], {"role": "user", "content": "?"}]}
    no_user = {"messages": [{"role": "assistant", "content": "Hello"}]}
    wrong_type = {"messages": [{"role": "user", "content": 3}, SHORT_CHAT["messages"][1]]}
    path = _jsonl(tmp_path / "c.jsonl", [ends_with_user])
    assert _error(path) == f"{path}:1: messages: the last turn must be the assistant's, got user"
    _jsonl(path, [no_user])
    assert _error(path) == f"{path}:1: messages: needs at least one user turn"
    _jsonl(path, [wrong_type])
    assert _error(path) == f"{path}:1: messages[0].content: expected a string, got number"
    with pytest.raises(ValueError, match="role"):
        Message("bot", "x")
    with pytest.raises(TypeError, match="content"):
        Message("user", None)
    with pytest.raises(TypeError, match="messages"):
        Example(("hi",))


def test_data_error_survives_pickling():
    error = pickle.loads(pickle.dumps(DataError("a.jsonl:2", "output", "missing")))
    assert str(error) == "a.jsonl:2: output: missing" and error.field == "output"


def test_openai_jsonl_round_trip(tmp_path):
    examples = _read(_jsonl(tmp_path / "in.jsonl", [CHAT, SHORT_CHAT]))
    unicode = Example((Message("user", "Café ☕?"), Message("assistant", "Oui\nbien sûr")))
    out = tmp_path / "out" / "train.jsonl"
    assert write_openai_jsonl([*examples, unicode], out) == 3
    text = out.read_text(encoding="utf-8")
    assert "Café ☕?" in text and len(text.splitlines()) == 3
    assert all(list(json.loads(line)) == ["messages"] for line in text.splitlines())
    again = _read(out)
    assert [e.messages for e in again] == [e.messages for e in [*examples, unicode]]


def test_to_dataset_columns(tmp_path):
    examples = _read(_jsonl(tmp_path / "chat.jsonl", [CHAT, SHORT_CHAT]))
    dataset = to_dataset(examples)
    assert dataset.column_names == ["messages", "label"] and len(dataset) == 2
    assert dataset[1] == {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello, how can I help?"},
        ],
        "label": "greeting",
    }
    assert dataset[0]["label"] is None and len(to_dataset([])) == 0


@pytest.mark.integration
def test_bitext_csv_with_intent_labels():
    path = require_shared(BITEXT)
    examples = _read(
        path, columns=CsvColumns(user="instruction", assistant="response", label="intent")
    )
    assert len(examples) == 4514
    assert len({e.label for e in examples}) == 27 and examples[0].label == "cancel_order"
    assert examples[0].messages[0] == Message("user", "how can I cancel purchase 113542617735902?")
    assert all("\r" not in e.messages[1].content for e in examples)
