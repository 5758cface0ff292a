"""API keys with roles; per-route and per-collection permissions; per-key concurrency."""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request

from hybrid.config import Role, ServeConfig

log = logging.getLogger(__name__)

# What each role may do. Reading a collection also needs the key's `collections` globs.
CAPABILITIES: dict[str, frozenset[str]] = {
    "agent": frozenset({"chat"}),
    "legal": frozenset({"chat", "draft"}),
    "owner": frozenset({"chat", "documents"}),
    "admin": frozenset({"chat", "draft", "documents", "metrics"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling.

    Example: ``Principal("ops", "admin", ("*",), ("*",), 8, 100_000).can("draft")``
    """

    name: str
    role: Role
    routes: tuple[str, ...]
    collections: tuple[str, ...]
    max_concurrency: int
    tokens_per_minute: int  # prompt + generated (serve/budget.py)

    def can(self, capability: str) -> bool:
        return capability in CAPABILITIES[self.role]

    def may_use_route(self, route: str) -> bool:
        return any(fnmatch.fnmatchcase(route, glob) for glob in self.routes)

    def may_read(self, collection: str) -> bool:
        return any(fnmatch.fnmatchcase(collection, glob) for glob in self.collections)


WINDOW_S = 60.0
FAILURES_ALLOWED = 20  # failed keys per address and minute before 429


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class Auth:
    """Resolves ``Authorization: Bearer <key>`` (or ``X-API-Key``) to a Principal.

    With no keys configured every caller is an anonymous admin (loopback demos only: the CLI
    refuses to bind elsewhere without keys).
    """

    def __init__(self, config: ServeConfig):
        self.open = not config.keys
        self._keys: list[tuple[bytes, Principal]] = []
        for key in config.keys:
            secret = key.secret()
            if secret is None:
                log.warning(
                    "API key %r: $%s is not set; the key is disabled", key.name, key.key_env
                )
                continue
            limit = key.max_concurrency or config.limits.per_key_concurrency
            tokens = key.tokens_per_minute or config.limits.per_key_tokens_per_minute
            principal = Principal(key.name, key.role, key.routes, key.collections, limit, tokens)
            self._keys.append((_digest(secret), principal))
        limits = config.limits
        self._anonymous = Principal(
            "anonymous",
            "admin",
            ("*",),
            ("*",),
            limits.per_key_concurrency,
            limits.per_key_tokens_per_minute,
        )
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}  # client address -> times of recent 401s

    def identify(self, request: Request) -> Principal:
        if self.open:
            return self._anonymous
        client = request.client.host if request.client else "?"
        self._check_failures(client)
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        token = token or request.headers.get("x-api-key", "")
        if not token:
            self._failed(client)
            raise HTTPException(
                401,
                "missing API key: send 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # Both sides hashed to 32 bytes, and every key compared whatever matches: neither a
        # key's length nor its position in the list shows in the time taken.
        offered = _digest(token)
        found = None
        for secret, principal in self._keys:
            if hmac.compare_digest(secret, offered) and found is None:
                found = principal
        if found is None:
            self._failed(client)
            raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
        return found

    def _check_failures(self, client: str) -> None:
        """429 for an address with ``FAILURES_ALLOWED`` failed keys within the last minute."""
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if time.monotonic() - t < WINDOW_S]
            self._failures[client] = recent
            if len(recent) >= FAILURES_ALLOWED:
                wait = int(WINDOW_S - (time.monotonic() - recent[0])) + 1
                raise HTTPException(
                    429,
                    f"too many failed API keys from this address; retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )

    def _failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, []).append(time.monotonic())
            if len(self._failures) > 10_000:  # bounded memory under a spray of addresses
                self._failures.pop(next(iter(self._failures)))

    def require(self, principal: Principal, capability: str) -> None:
        if not principal.can(capability):
            raise HTTPException(
                403, f"key {principal.name!r} (role {principal.role}) may not use {capability}"
            )

    def acquire(self, principal: Principal) -> None:
        """Count a request against the key's concurrency limit; 429 beyond it."""
        with self._lock:
            busy = self._in_flight.get(principal.name, 0)
            if busy >= principal.max_concurrency:
                raise HTTPException(
                    429,
                    f"key {principal.name!r} already has {busy} requests in flight "
                    f"(limit {principal.max_concurrency})",
                    headers={"Retry-After": "1"},
                )
            self._in_flight[principal.name] = busy + 1

    def release(self, principal: Principal) -> None:
        with self._lock:
            self._in_flight[principal.name] = max(0, self._in_flight.get(principal.name, 1) - 1)
