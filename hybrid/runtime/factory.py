"""Which engine a runtime config asks for: in-process (``local``) or OpenAI-compatible (``remote``).

Beside the ``Engine`` protocol it would make ``engine`` import its own implementations.
"""

from __future__ import annotations

from hybrid.config import RuntimeConfig
from hybrid.runtime.engine import Engine


def create_engine(config: RuntimeConfig) -> Engine:
    """The engine a runtime config asks for. Example: ``create_engine(RuntimeConfig())``"""
    if config.engine == "openai":
        from hybrid.runtime.remote import RemoteEngine

        assert config.openai is not None  # the config validator guarantees it
        return RemoteEngine(config.openai, tuple(config.adapters), config.max_queue)
    from hybrid.runtime.local import LocalEngine

    return LocalEngine(config)
