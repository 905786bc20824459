"""The device service's own checks of a write, before governance's policies are asked.

Pure: a refusal names the tag and why, so the caller can audit it and answer with it.
"""

from __future__ import annotations

import math

from plantbus.config.devices import Tag
from plantbus.sdk.driver import DataType, Scalar

__all__ = ["tag_refusal"]

_NUMERIC = {t for t in DataType if t not in {DataType.BOOL, DataType.STRING}}


def tag_refusal(path: str, tag: Tag, value: Scalar) -> str:
    """Why ``value`` may not be written to ``tag`` ('' when the tag allows it)."""
    if tag.access != "read_write":
        return f"tag {path!r} is read-only"
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if tag.data_type in _NUMERIC and not numeric:
        return f"tag {path!r} is {tag.data_type}; {value!r} is not a number"
    if tag.data_type == DataType.BOOL and not isinstance(value, bool):
        return f"tag {path!r} is bool; {value!r} is not true or false"
    if tag.data_type == DataType.STRING and not isinstance(value, str):
        return f"tag {path!r} is string; {value!r} is not text"
    if isinstance(value, float) and not math.isfinite(value):  # inf passes open limits
        return f"tag {path!r} takes finite numbers only; {value!r} is not one"
    if isinstance(value, int | float) and not isinstance(value, bool):
        low = tag.min if tag.min is not None else float("-inf")
        high = tag.max if tag.max is not None else float("inf")
        if not low <= value <= high:
            return f"value {value} is outside the limits of tag {path!r} ({tag.min}..{tag.max})"
    return ""
