"""Conversions between device values and engineering values, and their protobuf form.

Engineering value = raw * ``scale`` + ``offset`` (numeric tags only); the unit travels
with the sample. Byte and word order are the driver's business (it decodes registers).
"""

from __future__ import annotations

from plantbus.config.devices import Tag
from plantbus.sdk.driver import DataType, Scalar
from plantbus.v1 import telemetry_pb2

__all__ = ["to_engineering", "to_raw", "to_tag_value"]

_INT64_MAX = 2**63 - 1
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


def to_tag_value(value: Scalar | None) -> telemetry_pb2.TagValue:
    """The protobuf form of a scalar (empty for None)."""
    out = telemetry_pb2.TagValue()
    if value is None:
        return out
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        if value > _INT64_MAX:
            out.uint_value = value
        else:
            out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    else:
        out.bytes_value = bytes(value)
    return out
