"""API keys with roles; per-route and per-collection permissions; per-key concurrency."""

from __future__ import annotations

import fnmatch
import hmac
import logging
import threading
from dataclasses import dataclass

from fastapi import HTTPException, Request

from hybrid.config_serve import Role, ServeConfig

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
    """Who is calling. Example: ``Principal("ops", "admin", ("*",), ("*",), 8).can("draft")``"""

    name: str
    role: Role
    routes: tuple[str, ...]
    collections: tuple[str, ...]
    max_concurrency: int

    def can(self, capability: str) -> bool:
        return capability in CAPABILITIES[self.role]

    def may_use_route(self, route: str) -> bool:
        return any(fnmatch.fnmatchcase(route, glob) for glob in self.routes)

    def may_read(self, collection: str) -> bool:
        return any(fnmatch.fnmatchcase(collection, glob) for glob in self.collections)


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
            principal = Principal(key.name, key.role, key.routes, key.collections, limit)
            self._keys.append((secret.encode(), principal))
        self._anonymous = Principal(
            "anonymous", "admin", ("*",), ("*",), config.limits.per_key_concurrency
        )
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def identify(self, request: Request) -> Principal:
        if self.open:
            return self._anonymous
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        token = token or request.headers.get("x-api-key", "")
        if not token:
            raise HTTPException(
                401,
                "missing API key: send 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        for secret, principal in self._keys:  # constant time per key: no timing oracle
            if hmac.compare_digest(secret, token.encode()):
                return principal
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})

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
