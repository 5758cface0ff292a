"""The one name pattern: routes, adapters, keys and collection prefixes."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# A name in a recipe: letters, digits, '.', '_', '-', 64 at most, starting with a letter or digit.
Name = Annotated[str, StringConstraints(pattern=NAME)]


def check_name(name: str, what: str) -> str:
    """``name`` if it matches ``NAME``; else ValueError naming ``what``.

    Example: ``check_name("support", "route name") == "support"``
    """
    if not re.match(NAME, name):
        raise ValueError(f"{what} {name!r} must match {NAME} (letters, digits, '.', '_', '-')")
    return name
