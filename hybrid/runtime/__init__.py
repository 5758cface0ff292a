"""Generation runtime: in-process (base + LoRA adapters, micro-batched) or remote engines."""

from hybrid.errors import Overloaded
from hybrid.runtime.engine import Completion, Engine, Event, Ticket
from hybrid.runtime.factory import create_engine

__all__ = ["Completion", "Engine", "Event", "Overloaded", "Ticket", "create_engine"]
