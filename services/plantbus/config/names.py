"""The names of the plant model: one alphabet, so every name is one NATS subject token.

Names are checked once, at config time (:mod:`plantbus.config.base`), and again where a
subject is built (:mod:`plantbus.kit.subjects`).
"""

from __future__ import annotations

import re
from typing import Final

from plantbus.sdk.errors import ValidationFailed

__all__ = ["TOKEN_PATTERN", "is_valid_token", "validate_token"]

TOKEN_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}"
_TOKEN = re.compile(rf"^{TOKEN_PATTERN}$")


def is_valid_token(name: str) -> bool:
    """Tell whether ``name`` can be used as one subject token (letters, digits, ``_`` and ``-``)."""
    return bool(_TOKEN.match(name))


def validate_token(name: str, what: str = "name") -> str:
    """Return ``name`` unchanged or raise :class:`ValidationFailed` explaining the alphabet."""
    if not is_valid_token(name):
        raise ValidationFailed(
            f"invalid {what} {name!r}: use 1-63 letters, digits, '_' or '-', "
            "starting with a letter or digit (no dots, spaces or wildcards)"
        )
    return name
