"""Keys: every key compared in constant time on fixed-length digests; repeated failures from one
address are refused for a while (429 with Retry-After)."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from hybrid.config import ServeConfig
from hybrid.serve.auth import FAILURES_ALLOWED, Auth


def _request(key: str | None, address: str = "10.0.0.1") -> Request:
    headers = [(b"authorization", f"Bearer {key}".encode())] if key else []
    return Request({"type": "http", "headers": headers, "client": (address, 5000)})


def test_keys_of_any_length_and_position_resolve():
    config = ServeConfig(
        keys=[
            {"name": "short", "role": "agent", "key": "k1"},
            {"name": "long", "role": "admin", "key": "a-much-longer-secret-" * 4},
        ]
    )
    auth = Auth(config)
    assert auth.identify(_request("k1")).name == "short"
    assert auth.identify(_request("a-much-longer-secret-" * 4)).name == "long"
    for wrong in ("k", "k12", "a-much-longer-secret-", ""):
        with pytest.raises(HTTPException) as error:
            auth.identify(_request(wrong or None))
        assert error.value.status_code == 401


def test_repeated_failures_from_one_address_get_429():
    auth = Auth(ServeConfig(keys=[{"name": "ops", "role": "admin", "key": "right"}]))
    for _ in range(FAILURES_ALLOWED):
        with pytest.raises(HTTPException) as error:
            auth.identify(_request("wrong"))
        assert error.value.status_code == 401
    with pytest.raises(HTTPException) as error:
        auth.identify(_request("right"))  # even the right key waits: no guessing past the limit
    assert error.value.status_code == 429 and int(error.value.headers["Retry-After"]) > 0
    assert auth.identify(_request("right", "10.0.0.2")).name == "ops"  # other addresses unaffected
