"""Per-key token budgets over a sliding minute: prompt tokens are refused at the door, generated
tokens are counted after the fact, refunds give a charge back."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from pydantic import ValidationError

from hybrid.config import ServeConfig
from hybrid.serve.auth import Principal
from hybrid.serve.budget import TokenBudget

WHO = Principal("ops", "agent", ("*",), ("*",), 8, 1000)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_minute_refuses_until_tokens_leave_the_window():
    clock = Clock()
    budget = TokenBudget(clock)
    budget.charge(WHO, 600)
    clock.now = 20.0
    budget.record(WHO, 300)  # generated: counted, never refused
    assert budget.used(WHO) == 900
    with pytest.raises(HTTPException) as error:
        budget.charge(WHO, 200)
    assert error.value.status_code == 429
    # 100 tokens too many: the first charge (600 at t=0) must leave, at t=60 -> 40 s from now.
    assert error.value.headers["Retry-After"] == "40"
    assert budget.used(WHO) == 900  # a refused charge spends nothing
    clock.now = 60.0
    budget.charge(WHO, 200)
    assert budget.used(WHO) == 500


def test_keys_are_counted_apart_and_refunds_give_back():
    budget = TokenBudget(Clock())
    other = Principal("other", "agent", ("*",), ("*",), 8, 1000)
    budget.charge(WHO, 1000)
    budget.charge(other, 1000)
    budget.refund(WHO, 1000)  # generation never started
    budget.charge(WHO, 1000)
    with pytest.raises(HTTPException):
        budget.charge(other, 1)


def test_a_budget_below_one_prompt_is_a_config_error():
    with pytest.raises(ValidationError, match="limits.max_prompt_tokens"):
        ServeConfig(limits={"per_key_tokens_per_minute": 1000, "max_prompt_tokens": 2048})
    with pytest.raises(ValidationError, match=r"keys\[cheap\].tokens_per_minute"):
        ServeConfig(keys=[{"name": "cheap", "role": "agent", "key": "k", "tokens_per_minute": 10}])
