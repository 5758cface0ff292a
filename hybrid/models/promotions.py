"""Adapter promotions: which adapter serves which route, since when, on which eval figures.

An append-only JSON-lines log beside the index root (``<index_dir>.promotions.jsonl``): every
promotion, forced promotion and rollback is one line, never rewritten, so the history is the
audit trail. A route's adapter is the top of its stack (a promotion pushes, a rollback pops);
servers re-read the log when it changes, so a rollback is live at their next request.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Generic, Literal, TypeVar

from hybrid.errors import Conflict, NotFound
from hybrid.models.cards import file_sha256

Action = Literal["promote", "force", "rollback"]
T = TypeVar("T")
# What identifies a model, by kind: a PEFT adapter's (or classifier's) weights; a clause
# model's metadata (thresholds, vocabulary) and weights.
WEIGHTS = (("adapter_model.safetensors",), ("clauses.json", "weights.npz"), ("adapter_model.bin",))


def digest(folder: Path) -> str:
    """The model's identity: sha256 of its weights (a retrained or edited model differs)."""
    for files in WEIGHTS:
        if (Path(folder) / files[0]).is_file():
            sums = [file_sha256(Path(folder) / name) for name in files]
            return sums[0] if len(sums) == 1 else hashlib.sha256("".join(sums).encode()).hexdigest()
    named = " / ".join("+".join(files) for files in WEIGHTS)
    raise FileNotFoundError(f"{folder}: no adapter weights ({named})")


@dataclass(frozen=True)
class Promotion:
    route: str
    adapter: str  # the name routes and runtime.adapters use
    path: str  # the folder promoted
    digest: str
    action: Action
    figures: dict[str, float | None] = field(default_factory=dict)  # the route's eval
    failed: tuple[str, ...] = ()  # thresholds missed (a forced promotion records them)
    reason: str | None = None  # --force "reason"
    at: str = ""  # UTC, ISO 8601


def promotions_path(index_dir: Path) -> Path:
    return Path(f"{Path(index_dir)}.promotions.jsonl")


def promotions_for(config) -> Promotions | None:
    """The recipe's promotions log when ``serve.require_promotion`` is on (else None: routes
    serve what the recipe names)."""
    if not config.serve.require_promotion:
        return None
    return Promotions(promotions_path(config.index_dir))


class Promotions:
    """Example: ``Promotions(promotions_path(config.index_dir)).current("support").adapter``"""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[float, int] | None = None
        self._entries: list[Promotion] = []

    def history(self, route: str | None = None) -> list[Promotion]:
        """Every line, oldest first (re-read when the file changed since the last call)."""
        with self._lock:
            try:
                stat = self.path.stat()
                seen = (stat.st_mtime, stat.st_size)
            except FileNotFoundError:
                seen = None
            if seen != self._seen:
                self._entries, self._seen = self._read(), seen
            entries = list(self._entries)
        return [p for p in entries if route is None or p.route == route]

    def _read(self) -> list[Promotion]:
        if not self.path.is_file():
            return []
        out = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append(Promotion(**{**row, "failed": tuple(row.get("failed", ()))}))
            except (ValueError, TypeError) as error:
                raise ValueError(f"{self.path}:{n}: not a promotion ({error})") from None
        return out

    def stack(self, route: str) -> list[Promotion]:
        """The route's promoted adapters, the serving one last."""
        stack: list[Promotion] = []
        for p in self.history(route):
            if p.action == "rollback":
                stack.pop()
            else:
                stack.append(p)
        return stack

    def current(self, route: str) -> Promotion | None:
        stack = self.stack(route)
        return stack[-1] if stack else None

    def record(self, promotion: Promotion) -> Promotion:
        """Append one line (flock'd and fsynced: two CLIs never interleave a line)."""
        stamped = Promotion(
            **{**asdict(promotion), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(json.dumps(asdict(stamped)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return stamped

    def rollback(self, route: str) -> Promotion:
        """Back to the adapter promoted before the serving one; ValueError when there is none."""
        stack = self.stack(route)
        if len(stack) < 2:
            raise ValueError(
                f"route {route!r}: no earlier promoted adapter to roll back to "
                f"({len(stack)} promotion(s) in {self.path})"
            )
        back = stack[-2]
        self.record(
            Promotion(route, back.adapter, back.path, back.digest, "rollback", back.figures)
        )
        return back


def check_promoted(config, promotions: Promotions) -> None:
    """At start, with ``serve.require_promotion``: every route that serves an adapter has one
    promoted for it, loaded by the recipe, and unchanged since (same weights digest); so do
    the task models the recipe turns on (``triage``, ``clauses``)."""
    for name, route in config.routes.items():
        if route.adapter is None:
            continue
        current = promotions.current(name)
        if current is None:
            raise ValueError(
                f"routes.{name}: no adapter was promoted for route {name!r} and "
                f"serve.require_promotion is on (run: hybrid adapters promote {route.adapter} "
                f"--route {name})"
            )
        folder = config.runtime.adapters.get(current.adapter)
        if folder is None:
            raise ValueError(
                f"routes.{name}: the promoted adapter {current.adapter!r} is not in "
                "runtime.adapters, so this server cannot serve it"
            )
        _unchanged(f"routes.{name}", Path(folder), current)
    tasks = {"triage": config.triage, "clauses": config.clauses}
    for task, section in tasks.items():
        if section is None:
            continue
        configured = section.classifier if task == "triage" else section.model
        current = promotions.current(task)
        if current is None:
            raise ValueError(
                f"{task}: no model was promoted for the {task} task and serve.require_promotion "
                f"is on (run: hybrid adapters promote {configured} --route {task}; or set "
                f"{task}: null)"
            )
        _unchanged(task, Path(current.path), current)


def _unchanged(where: str, folder: Path, promoted: Promotion) -> None:
    if digest(folder) != promoted.digest:
        raise ValueError(
            f"{where}: adapter {promoted.adapter!r} at {folder} changed since its promotion on "
            f"{promoted.at} (promote it again)"
        )


class Served(Generic[T]):
    """The model a task route (triage, clauses) serves: the configured folder, or with a
    promotions log the one promoted for the route now. Loaded once per promotion, at start and
    then at the first request after a promotion or rollback (the log is re-read when it
    changes), so a rollback is live without a restart.

    Example: ``Served("clauses", folder, lambda f: ClauseFlagger.load(...), promotions).get()``
    """

    def __init__(
        self,
        route: str,
        configured: Path,
        load: Callable[[Path], T],
        promotions: Promotions | None,
    ):
        self.route, self.configured, self._load, self.promotions = (
            route, Path(configured), load, promotions,
        )  # fmt: skip
        self._lock = threading.Lock()  # one load at a time; requests wait for it
        self._held: tuple[tuple[str, str | None], T] | None = None
        self.get()  # a folder that does not load fails the start, not the first request

    def folder(self) -> tuple[Path, str | None]:
        """(the folder served now, its promoted digest; None without promotions)."""
        if self.promotions is None:
            return self.configured, None
        current = self.promotions.current(self.route)
        if current is None:
            raise NotFound(f"{self.route}: no model is promoted for it")
        return Path(current.path), current.digest

    def get(self) -> T:
        folder, expected = self.folder()
        key = (str(folder), expected)
        with self._lock:
            if self._held is None or self._held[0] != key:
                if expected is not None and digest(folder) != expected:
                    raise Conflict(
                        f"{self.route}: {folder} changed since its promotion (promote it again)"
                    )
                self._held = (key, self._load(folder))
            return self._held[1]
