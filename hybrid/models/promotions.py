"""Adapter promotions: which adapter serves which route, since when, on which eval figures.

An append-only JSON-lines log beside the index root (``<index_dir>.promotions.jsonl``): every
promotion, forced promotion and rollback is one line, never rewritten, so the history is the
audit trail. A route's adapter is the top of its stack (a promotion pushes, a rollback pops);
servers re-read the log when it changes, so a rollback is live at their next request.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from hybrid.models.cards import file_sha256

Action = Literal["promote", "force", "rollback"]
WEIGHTS = ("adapter_model.safetensors", "clauses.json", "adapter_model.bin")


def digest(folder: Path) -> str:
    """The adapter's identity: sha256 of its weights file (a retrained adapter differs)."""
    for name in WEIGHTS:
        if (Path(folder) / name).is_file():
            return file_sha256(Path(folder) / name)
    raise FileNotFoundError(f"{folder}: no adapter weights ({' / '.join(WEIGHTS)})")


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
    promoted for it, loaded by the recipe, and unchanged since (same weights digest)."""
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
        if digest(Path(folder)) != current.digest:
            raise ValueError(
                f"routes.{name}: adapter {current.adapter!r} at {folder} changed since its "
                f"promotion on {current.at} (promote it again)"
            )
