"""Conversions between device values and engineering values (their protobuf form is
:mod:`plantbus.device.wire`'s).

Engineering value = raw * ``scale`` + ``offset`` (numeric tags only); the unit travels
with the sample. Byte and word order are the driver's business (it decodes registers).
"""

from __future__ import annotations

from plantbus.config.devices import Tag
from plantbus.sdk.driver import DataType, Scalar

__all__ = ["to_engineering", "to_raw"]

_FLOATS = {DataType.FLOAT32, DataType.FLOAT64}


def to_engineering(tag: Tag, raw: Scalar | None) -> Scalar | None:
    """The engineering value of a raw reading (unchanged when no scaling is configured)."""
    if raw is None or isinstance(raw, bool | str | bytes) or (tag.scale == 1 and tag.offset == 0):
        return raw
    return float(raw) * tag.scale + tag.offset


def to_raw(tag: Tag, value: Scalar) -> Scalar:
    """The value a device wants for an engineering ``value``: scaling undone, integer
    types rounded."""
    if isinstance(value, bool | str | bytes) or (tag.scale == 1 and tag.offset == 0):
        return value
    raw = (float(value) - tag.offset) / tag.scale
    return raw if tag.data_type in _FLOATS else round(raw)
