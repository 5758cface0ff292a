"""Instruction data: chat JSONL, Alpaca JSONL or CSV in; validated examples and OpenAI JSONL out.

Just over 300 lines: three readers that must agree on one ``Example`` and one error format
(file, line, field) read best side by side.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hybrid.config import CsvColumns, DataConfig

if TYPE_CHECKING:
    from datasets import Dataset

ROLES = ("system", "user", "assistant")
Format = Literal["chat", "alpaca", "csv"]

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


class DataError(ValueError):
    """Bad input data, located by file, line and field.

    Example: ``str(DataError("train.jsonl:12", "messages[2].role", "expected ..."))
    == "train.jsonl:12: messages[2].role: expected ..."``
    """

    def __init__(self, source: str, field: str | None, problem: str):
        self.source, self.field, self.problem = source, field, problem
        super().__init__(f"{source}: {field}: {problem}" if field else f"{source}: {problem}")

    def __reduce__(self) -> tuple[type, tuple[str, str | None, str]]:
        # The default pickling passes only the message back to __init__ (multiprocessing).
        return (DataError, (self.source, self.field, self.problem))


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "number" if isinstance(value, int | float) else "value")


def _role_problem(value: Any) -> str | None:
    if value not in ROLES:
        return f"expected one of {', '.join(ROLES)}, got {value!r}"
    return None


def _content_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"expected a string, got {_type_name(value)}"
    if not value.strip():
        return f"expected a non-empty string, got {value!r}"
    return None


@dataclass(frozen=True)
class Message:
    """One chat turn. Example: ``Message("user", "Where is my order?")``"""

    role: str
    content: str

    def __post_init__(self) -> None:
        for field in ("role", "content"):
            value = getattr(self, field)
            problem = _role_problem(value) if field == "role" else _content_problem(value)
            if problem:
                raise (ValueError if isinstance(value, str) else TypeError)(f"{field}: {problem}")


@dataclass(frozen=True)
class Example:
    """A conversation to train on: user and assistant turns ending with the assistant's.

    ``label`` (e.g. an intent) is kept for reports, never trained on; ``source`` says where the
    example came from. Example: ``Example((Message("user", "Hi"), Message("assistant", "Hello")),
    label="greeting", source="chat.jsonl:1")``
    """

    messages: tuple[Message, ...]
    label: str | None = None
    source: str = "<example>"
    keep: tuple[str, ...] = ()  # not PII, never redacted: e.g. the document ids a prompt cites

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", tuple(self.messages))
        object.__setattr__(self, "keep", tuple(self.keep))
        for i, message in enumerate(self.messages):
            if not isinstance(message, Message):
                raise TypeError(f"messages[{i}]: expected a Message, got {type(message).__name__}")
        if self.label is not None and not isinstance(self.label, str):
            raise TypeError(f"label: expected a string or None, got {type(self.label).__name__}")
        roles = [m.role for m in self.messages]
        for needed in ("user", "assistant"):
            if needed not in roles:
                raise DataError(self.source, "messages", f"needs at least one {needed} turn")
        if roles[-1] != "assistant":
            problem = f"the last turn must be the assistant's, got {roles[-1]}"
            raise DataError(self.source, "messages", problem)


def _text(source: str, obj: dict, key: str, where: str = "") -> str:
    if key not in obj:
        raise DataError(source, f"{where}{key}", "missing")
    problem = _content_problem(obj[key])
    if problem:
        raise DataError(source, f"{where}{key}", problem)
    return obj[key]


def _label(source: str, obj: dict) -> str | None:
    label = obj.get("label")
    if label is not None and not isinstance(label, str):
        raise DataError(source, "label", f"expected a string or null, got {_type_name(label)}")
    return label


def _jsonl_objects(path: Path) -> Iterator[tuple[str, dict]]:
    """(``path:line``, object) for each non-blank physical line."""
    with path.open("rb") as handle:
        # Binary lines split on "\n" only, so line numbers match editors and `sed -n`.
        for number, raw in enumerate(handle, 1):
            source = f"{path}:{number}"
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise DataError(source, None, f"not valid UTF-8 at byte {error.start}") from None
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                problem = f"not valid JSON: {error.msg} at column {error.colno}"
                raise DataError(source, None, problem) from None
            if not isinstance(value, dict):
                raise DataError(source, None, f"expected a JSON object, got {_type_name(value)}")
            yield source, value


def _chat_examples(path: Path) -> Iterator[Example]:
    for source, obj in _jsonl_objects(path):
        if "messages" not in obj:
            raise DataError(source, "messages", "missing")
        if not isinstance(obj["messages"], list):
            problem = f"expected an array, got {_type_name(obj['messages'])}"
            raise DataError(source, "messages", problem)
        messages = []
        for i, item in enumerate(obj["messages"]):
            where = f"messages[{i}]"
            if not isinstance(item, dict):
                raise DataError(source, where, f"expected an object, got {_type_name(item)}")
            problem = _role_problem(item["role"]) if "role" in item else "missing"
            if problem:
                raise DataError(source, f"{where}.role", problem)
            # Other keys OpenAI allows per message (name, weight) do not change the text.
            messages.append(Message(item["role"], _text(source, item, "content", f"{where}.")))
        yield Example(tuple(messages), _label(source, obj), source, _keep(source, obj))


def _keep(source: str, obj: dict) -> tuple[str, ...]:
    """hybrid's extension: strings that are not PII in this example (document ids a prompt
    cites), written by ``write_openai_jsonl`` and honoured by the PII gate."""
    keep = obj.get("keep", [])
    if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
        raise DataError(source, "keep", f"expected an array of strings, got {_type_name(keep)}")
    return tuple(keep)


def _alpaca_examples(path: Path) -> Iterator[Example]:
    for source, obj in _jsonl_objects(path):
        user = _text(source, obj, "instruction")
        extra = obj.get("input")
        if extra is not None and not isinstance(extra, str):
            raise DataError(source, "input", f"expected a string, got {_type_name(extra)}")
        if extra and extra.strip():
            user = f"{user}\n\n{extra}"
        assistant = _text(source, obj, "output")
        messages = (Message("user", user), Message("assistant", assistant))
        yield Example(messages, _label(source, obj), source)


def _csv_examples(path: Path, columns: CsvColumns) -> Iterator[Example]:
    row_number = 1  # rows as a spreadsheet numbers them: the header is row 1
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            wanted: dict[str, str | None] = columns.model_dump()  # user, assistant, system, label
            for field, column in wanted.items():
                if column is not None and column not in header:
                    available = ", ".join(header) or "none, the file is empty"
                    problem = f"no column {column!r} in the header; available: {available}"
                    raise DataError(f"{path}:1", f"columns.{field}", problem)
            at = {field: header.index(column) for field, column in wanted.items() if column}
            for row_number, row in enumerate(reader, 2):
                if not row:
                    continue
                source = f"{path}:{row_number}"
                if len(row) != len(header):
                    problem = f"expected {len(header)} fields as in the header, got {len(row)}"
                    raise DataError(source, None, problem)
                # Quoted cells keep the file's CRLF line ends, which are encoding, not content.
                cells = {field: row[i].replace("\r\n", "\n") for field, i in at.items()}
                messages = []
                if cells.get("system", "").strip():
                    messages.append(Message("system", cells["system"]))
                for role in ("user", "assistant"):
                    problem = _content_problem(cells[role])
                    if problem:
                        raise DataError(source, wanted[role], problem)
                    messages.append(Message(role, cells[role]))
                yield Example(tuple(messages), cells.get("label", "").strip() or None, source)
        except UnicodeDecodeError as error:
            # Text is decoded in blocks, so the row is where reading stopped, not exact.
            problem = f"not valid UTF-8 at or after this row ({error.reason})"
            raise DataError(f"{path}:{row_number + 1}", None, problem) from None
        except csv.Error as error:
            raise DataError(f"{path}:{row_number + 1}", None, f"malformed CSV: {error}") from None


def detect_format(path: str | Path) -> Format:
    """``csv`` by extension, else ``chat`` or ``alpaca`` by the first JSON object's keys.

    Example: ``detect_format("train.jsonl") == "chat"`` when line 1 has a ``messages`` key.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return "csv"
    objects = _jsonl_objects(path)
    first = next(objects, None)
    objects.close()
    if first is None:
        raise DataError(str(path), None, "no data: the file is empty")
    source, obj = first
    if "messages" in obj:
        return "chat"
    if "instruction" in obj:
        return "alpaca"
    keys = ", ".join(map(repr, obj)) or "none"
    problem = "cannot tell the format: expected 'messages' (chat) or 'instruction' (alpaca); keys: "
    raise DataError(source, None, problem + keys)


def _with_system(example: Example, prompt: str) -> Example:
    if any(m.role == "system" for m in example.messages):
        return example
    messages = (Message("system", prompt), *example.messages)
    return Example(messages, example.label, example.source, example.keep)


def read_examples(config: DataConfig) -> list[Example]:
    """Read ``config.path`` in its format, add ``system_prompt`` where missing; ``limit`` keeps
    an evenly spread sample (data files are often sorted by label, so the head would not do).

    Chat JSONL is OpenAI's ``{"messages": [...]}``; Alpaca JSONL's ``input``, when set, follows
    the instruction after a blank line; CSV columns come from ``config.columns``. Example:
    ``read_examples(DataConfig(path="bitext.csv", columns=CsvColumns(label="intent")))``
    """
    if config.system_prompt is not None and not config.system_prompt.strip():
        raise ValueError("data.system_prompt: expected a non-empty string or none")
    path = Path(config.path)
    kind = detect_format(path) if config.format == "auto" else config.format
    if kind == "csv":
        found = _csv_examples(path, config.columns)
    else:
        found = _chat_examples(path) if kind == "chat" else _alpaca_examples(path)
    examples = list(found)
    if config.limit and len(examples) > config.limit:
        step = len(examples) / config.limit
        examples = [examples[int(i * step)] for i in range(config.limit)]
    if not examples:
        raise DataError(str(path), None, "no examples found")
    if config.system_prompt:
        examples = [_with_system(example, config.system_prompt) for example in examples]
    return examples


def _record(example: Example) -> dict[str, list]:
    if not isinstance(example, Example):
        raise TypeError(f"expected an Example, got {type(example).__name__}")
    record: dict[str, list] = {
        "messages": [{"role": m.role, "content": m.content} for m in example.messages]
    }
    if example.keep:
        record["keep"] = list(example.keep)
    return record


def write_openai_jsonl(
    examples: Iterable[Example], path: str | Path, keep_labels: bool = False
) -> int:
    """Write OpenAI's chat fine-tuning format, one ``{"messages": [...]}`` per line; labels are
    not part of that format and are dropped unless ``keep_labels`` (a top-level ``label`` key,
    which ``read_examples`` reads back). Returns the number of lines written.

    Example: ``write_openai_jsonl(read_examples(config), "out/train.jsonl")``
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    try:
        # Written aside and renamed, so a crash never leaves a truncated file behind.
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            for example in examples:
                record: dict = _record(example)
                if keep_labels and example.label is not None:
                    record["label"] = example.label
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def to_dataset(examples: Sequence[Example]) -> Dataset:
    """A ``datasets.Dataset`` with ``messages`` ([{role, content}]) and ``label`` columns.

    Example: ``to_dataset(examples)[0]["messages"][-1]["role"] == "assistant"``
    """
    # Imported here: datasets takes seconds to import and most commands never need it.
    from datasets import Dataset, Features, List, Value

    turn = {"role": Value("string"), "content": Value("string")}
    features = Features({"messages": List(turn), "label": Value("string")})
    messages = [_record(example)["messages"] for example in examples]
    labels = [example.label for example in examples]
    return Dataset.from_dict({"messages": messages, "label": labels}, features=features)
