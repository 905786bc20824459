"""Tags as Sparkplug metrics: the datatype a tag is published with, and values into and out
of a ``Payload.Metric``. Pure.

Sparkplug carries every integer in an unsigned field (``int_value`` for up to 32 bits,
``long_value`` for 64): a signed value travels as its two's complement in its own width
(an Int16 of -7 is 0xFFF9), as the specification says, and is read back by the metric's
datatype (a host that sends the 32-bit complement of a narrower type is understood too).
"""

from __future__ import annotations

from typing import Final

from plantbus.config.devices import Tag
from plantbus.sdk.driver import DataType, Scalar
from plantbus.sparkplug.sparkplug_b_pb2 import DataType as SpType
from plantbus.sparkplug.sparkplug_b_pb2 import Payload

__all__ = ["datatype_of", "put_value", "value_of"]

_TYPES: Final[dict[DataType, int]] = {
    DataType.BOOL: SpType.Boolean,
    DataType.INT16: SpType.Int16,
    DataType.UINT16: SpType.UInt16,
    DataType.INT32: SpType.Int32,
    DataType.UINT32: SpType.UInt32,
    DataType.INT64: SpType.Int64,
    DataType.UINT64: SpType.UInt64,
    DataType.FLOAT32: SpType.Float,
    DataType.FLOAT64: SpType.Double,
    DataType.STRING: SpType.String,
}
_BITS: Final[dict[int, int]] = {
    SpType.Int8: 8,
    SpType.Int16: 16,
    SpType.Int32: 32,
    SpType.Int64: 64,
}
_UNSIGNED_32: Final = frozenset({SpType.UInt8, SpType.UInt16, SpType.UInt32})
_FLOATS: Final = frozenset({SpType.Float, SpType.Double})


def datatype_of(tag: Tag) -> int:
    """The Sparkplug datatype of ``tag``'s engineering value: a scaled integer is a Double."""
    scaled = tag.scale != 1 or tag.offset != 0
    if scaled and tag.data_type not in (DataType.BOOL, DataType.STRING):
        return SpType.Double
    return _TYPES[tag.data_type]


def put_value(metric: Payload.Metric, datatype: int, value: Scalar | None) -> None:
    """Set ``metric``'s value field for ``datatype``; None (no good value) sets is_null."""
    if value is None or isinstance(value, bytes):
        metric.is_null = True
    elif datatype == SpType.Boolean:
        metric.boolean_value = bool(value)
    elif datatype == SpType.String:
        metric.string_value = str(value)
    elif datatype == SpType.Float:
        metric.float_value = float(value)
    elif datatype == SpType.Double:
        metric.double_value = float(value)
    elif datatype in _UNSIGNED_32:
        metric.int_value = int(value)
    elif datatype == SpType.UInt64:
        metric.long_value = int(value)
    elif datatype == SpType.Int64:
        metric.long_value = int(value) & ((1 << 64) - 1)
    else:  # Int8, Int16, Int32
        metric.int_value = int(value) & ((1 << _BITS[datatype]) - 1)


def value_of(metric: Payload.Metric, datatype: int) -> Scalar | None:
    """The value a command's ``metric`` carries, read as ``datatype`` (the metric's own, from
    the birth); None when it carries none."""
    kind = metric.WhichOneof("value")
    if metric.is_null or kind not in (
        "int_value",
        "long_value",
        "float_value",
        "double_value",
        "boolean_value",
        "string_value",
    ):
        return None
    raw: Scalar = getattr(metric, kind)
    if isinstance(raw, int) and not isinstance(raw, bool):
        if datatype in _FLOATS:
            return float(raw)
        bits = _BITS.get(datatype, 0)
        wide = 64 if kind == "long_value" else 32
        for width in (bits, wide) if bits else ():
            if 1 << (width - 1) <= raw < 1 << width:
                return raw - (1 << width)
    return raw
