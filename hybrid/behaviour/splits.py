"""Deterministic train / validation / test splits, with training items that leak removed."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import faiss

from hybrid.behaviour.data import Example
from hybrid.config import SplitConfig

if TYPE_CHECKING:
    from hybrid.knowledge.embedder import Embedder

SHOWN_PAIRS = 5  # example pairs per kind in the leak report
CLIP = 200  # characters of each text shown in the report
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
# float32 cosines of identical texts land a hair either side of 1.0.
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SplitResult:
    """The three splits, each in input order, and a JSON-ready ``leak_report``."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    leak_report: dict[str, Any]


def normalise(text: str) -> str:
    """The form in which two texts count as the same: casefolded, no punctuation, single spaces.

    Example: ``normalise("Where's  my ORDER?!") == "wheres my order"``
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", _PUNCTUATION.sub("", text)).strip()


def user_text(example: Example) -> str:
    """The user turns, joined: what is embedded to find near-duplicates."""
    return "\n\n".join(m.content for m in example.messages if m.role == "user")


def duplicate_key(example: Example) -> str:
    """Normalised user and assistant turns; equal keys are duplicates whatever the system prompt.

    Example: ``duplicate_key(a) == duplicate_key(b)`` for "Hi!" / "Hello." and "hi" / "hello"
    """
    turns = (f"{m.role}\x1f{normalise(m.content)}" for m in example.messages if m.role != "system")
    return "\x1e".join(turns)


def assign_split(example: Example, config: SplitConfig) -> str:
    """``train``, ``validation`` or ``test``, from a hash of the seed and the normalised user turns.

    Hashing content, not position, makes the split independent of input order and stable as data
    is added, and puts repeats of a question in the same split. Example:
    ``assign_split(example, SplitConfig(seed=1)) in ("train", "validation", "test")``
    """
    users = "\x1e".join(normalise(m.content) for m in example.messages if m.role == "user")
    digest = hashlib.sha256(f"{config.seed}\x00{users}".encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64
    if unit < config.test:
        return "test"
    if unit < config.test + config.validation:
        return "validation"
    return "train"


def _nearest(embedder: Embedder, queries: list[str], corpus: list[str]) -> tuple[Any, Any]:
    """For each query, (cosine, position in corpus) of its most similar corpus text."""
    unique = list(dict.fromkeys(queries + corpus))  # one batched embedding pass, no repeats
    row = {text: i for i, text in enumerate(unique)}
    vectors = embedder.embed(unique)
    index = faiss.IndexFlatIP(vectors.shape[1])  # vectors are normalised: inner product = cosine
    index.add(vectors[[row[text] for text in corpus]])
    scores, ids = index.search(vectors[[row[text] for text in queries]], 1)
    return scores[:, 0], ids[:, 0]


def _clip(text: str) -> str:
    return text if len(text) <= CLIP else text[: CLIP - 1] + "…"


def _pair(train: Example, held: tuple[str, Example], cosine: float | None) -> dict[str, Any]:
    split, other = held
    return {
        "train": train.source,
        "held_out": other.source,
        "held_out_split": split,
        "cosine": None if cosine is None else round(float(cosine), 6),
        "train_user": _clip(user_text(train)),
        "held_out_user": _clip(user_text(other)),
    }


def _check(examples: Sequence[Example], name: str) -> None:
    for i, example in enumerate(examples):
        if not isinstance(example, Example):
            raise TypeError(f"{name}[{i}]: expected an Example, got {type(example).__name__}")


def remove_leaks(
    train: Sequence[Example],
    validation: Sequence[Example],
    test: Sequence[Example],
    config: SplitConfig,
    embedder: Embedder | None,
) -> tuple[list[Example], dict[str, Any]]:
    """Drop training items that duplicate (normalised) or near-duplicate (user-text cosine >=
    ``config.near_duplicate_cosine``) any validation or test item; without an embedder only
    exact duplicates are checked. Returns the kept training items and a JSON-ready report.

    Example: ``kept, report = remove_leaks(train, [], own_test_set, SplitConfig(), embedder)``
    """
    for name, examples in (("train", train), ("validation", validation), ("test", test)):
        _check(examples, name)
    held = [("validation", e) for e in validation] + [("test", e) for e in test]
    held_keys: dict[str, int] = {}
    for i, (_, example) in enumerate(held):
        held_keys.setdefault(duplicate_key(example), i)
    keys = [duplicate_key(example) for example in train]
    exact = {i: held_keys[key] for i, key in enumerate(keys) if key in held_keys}

    near: list[tuple[float, int, int]] = []  # (cosine, train row, held-out row)
    closest: tuple[float, int, int] | None = None  # the most similar pair that stays
    rest = [i for i in range(len(train)) if i not in exact]
    if embedder is not None and held and rest:
        queries = [user_text(train[i]) for i in rest]
        scores, matches = _nearest(embedder, queries, [user_text(e) for _, e in held])
        threshold = config.near_duplicate_cosine - _TOLERANCE
        for i, score, match in zip(rest, scores.tolist(), matches.tolist()):
            if score >= threshold:
                near.append((score, i, match))
            elif closest is None or score > closest[0]:
                closest = (score, i, match)
    near.sort()  # weakest removed matches first: they show whether the threshold is too loose

    removed = set(exact) | {i for _, i, _ in near}
    kept = [example for i, example in enumerate(train) if i not in removed]
    kept_keys = [key for i, key in enumerate(keys) if i not in removed]
    report = {
        "near_duplicate_cosine": config.near_duplicate_cosine,
        "near_checked": embedder is not None,
        "sizes_before": {"train": len(train), "validation": len(validation), "test": len(test)},
        "sizes_after": {"train": len(kept), "validation": len(validation), "test": len(test)},
        "exact_leaks_removed": len(exact),
        "near_leaks_removed": len(near),
        "train_duplicates": len(kept_keys) - len(set(kept_keys)),
        "exact_pairs": [
            _pair(train[i], held[j], None) for i, j in list(exact.items())[:SHOWN_PAIRS]
        ],
        "near_pairs": [_pair(train[i], held[j], score) for score, i, j in near[:SHOWN_PAIRS]],
        # The other side of the threshold, to judge it from both ends.
        "closest_kept": closest and _pair(train[closest[1]], held[closest[2]], closest[0]),
    }
    return kept, report


def split_examples(
    examples: Sequence[Example], config: SplitConfig, embedder: Embedder | None = None
) -> SplitResult:
    """Split by content hash (see ``assign_split``), then ``remove_leaks`` from train.

    Example: ``split_examples(read_examples(data), SplitConfig(seed=1), embedder).train``
    """
    if not isinstance(config, SplitConfig):
        raise TypeError(f"config: expected a SplitConfig, got {type(config).__name__}")
    _check(examples, "examples")
    splits: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    for example in examples:
        splits[assign_split(example, config)].append(example)
    train, report = remove_leaks(
        splits["train"], splits["validation"], splits["test"], config, embedder
    )
    report = {
        "seed": config.seed,
        "fractions": {"validation": config.validation, "test": config.test},
        **report,
    }
    return SplitResult(train, splits["validation"], splits["test"], report)
