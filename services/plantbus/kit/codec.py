"""Conversions between bus messages and Python values, shared by every service."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.sdk.driver import Scalar
from plantbus.v1 import telemetry_pb2

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["as_dataclass", "now", "scalar", "tag_value", "timestamp", "timestamp_of"]

D = TypeVar("D", bound="DataclassInstance")


def timestamp(seconds: float) -> Timestamp:
    """A protobuf Timestamp for Unix ``seconds``."""
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def timestamp_of(when: datetime) -> Timestamp:
    """A protobuf Timestamp for ``when`` (a naive datetime is taken as UTC)."""
    ts = Timestamp()
    ts.FromDatetime(when if when.tzinfo else when.replace(tzinfo=UTC))
    return ts


def now() -> Timestamp:
    """The current time as a protobuf Timestamp."""
    ts = Timestamp()
    ts.FromNanoseconds(time.time_ns())
    return ts


def scalar(value: telemetry_pb2.TagValue) -> Scalar | None:
    """The Python value a TagValue holds, or None when it holds none."""
    kind = value.WhichOneof("kind")
    if kind is None:
        return None
    result: Scalar = getattr(value, kind)
    return result


def as_dataclass(cls: type[D], msg: Message) -> D:
    """The SDK dataclass ``cls`` made of ``msg``'s fields of the same names (what a plugin
    sees of a bus message): a Timestamp as an aware UTC datetime (an unset one as None),
    a map as a dict. Fields the message lacks keep their defaults."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        desc = msg.DESCRIPTOR.fields_by_name.get(f.name)
        if desc is None:
            continue
        value = getattr(msg, f.name)
        if isinstance(value, Timestamp):
            value = value.ToDatetime(UTC) if msg.HasField(f.name) else None
        elif desc.message_type is not None and desc.message_type.GetOptions().map_entry:
            value = dict(value)
        elif isinstance(value, Message):
            raise TypeError(f"{cls.__name__}.{f.name}: no conversion for {value.DESCRIPTOR.name}")
        values[f.name] = value
    return cls(**values)


def tag_value(value: Scalar) -> telemetry_pb2.TagValue:
    """``value`` as the TagValue of a WriteTag request."""
    if isinstance(value, bool):
        return telemetry_pb2.TagValue(bool_value=value)
    if isinstance(value, int):
        if value >= 1 << 63:
            return telemetry_pb2.TagValue(uint_value=value)
        return telemetry_pb2.TagValue(int_value=value)
    if isinstance(value, float):
        return telemetry_pb2.TagValue(double_value=value)
    if isinstance(value, bytes):
        return telemetry_pb2.TagValue(bytes_value=value)
    return telemetry_pb2.TagValue(string_value=value)
