"""NaN and infinities refused in any request, before a handler sees it."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from google.protobuf.message import Message

from plantbus.sdk.errors import ValidationFailed

__all__ = ["require_finite"]


def _values(name: str, value: object) -> Iterable[tuple[str, object]]:
    """(path, value) of one field's value: itself, or each element of a repeated or map
    field."""
    if isinstance(value, Mapping):
        return ((f"{name}[{key!r}]", v) for key, v in value.items())
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return ((f"{name}[{i}]", v) for i, v in enumerate(value))
    return ((name, value),)


def _non_finite(msg: Message, prefix: str = "") -> tuple[str, float] | None:
    """(path, value) of the first float or double field of ``msg`` (nested, repeated and
    map fields included) that holds NaN or an infinity."""
    for field, value in msg.ListFields():
        for path, item in _values(f"{prefix}{field.name}", value):
            if isinstance(item, Message):
                found = _non_finite(item, f"{path}.")
                if found:
                    return found
            elif isinstance(item, float) and not math.isfinite(item):
                return path, item
    return None


def require_finite(msg: Message) -> None:
    """ValidationFailed naming the field of ``msg`` that holds NaN or an infinity.

    Every comparison with NaN is false, so a check written as ``if x <= 0: refuse`` lets
    it through: it is refused here, once for every service, before any handler runs.
    """
    found = _non_finite(msg)
    if found:
        path, value = found
        raise ValidationFailed(
            f"{msg.DESCRIPTOR.name}.{path} is {value}: only finite numbers are accepted"
        )
