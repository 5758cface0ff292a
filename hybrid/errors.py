"""The errors hybrid raises on purpose. Each kind is one HTTP status, mapped in one place
(``serve/app.py``); anything else that escapes a handler is a bug: a logged 500.

Example: ``raise Invalid("messages: the last message must come from the user")`` is a 400.
"""

from __future__ import annotations


class HybridError(Exception):
    """Base of the errors below; its message is shown to the caller as it is."""


class Invalid(HybridError, ValueError):
    """A bad argument or request; the message names the field (400)."""


class NotFound(HybridError, LookupError):
    """A route, collection or document that does not exist (404)."""


class Conflict(HybridError):
    """The target is busy or in another state (a collection locked by a sync) (409)."""


class Overloaded(HybridError, RuntimeError):
    """The generation queue is full: retry shortly (503)."""


STATUS: dict[type[HybridError], int] = {Invalid: 400, NotFound: 404, Conflict: 409, Overloaded: 503}


def status_of(error: HybridError) -> int:
    """The HTTP status of ``error``: its nearest kind above, 500 for a bare HybridError."""
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
