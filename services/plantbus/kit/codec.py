"""Conversions between bus messages and Python values, shared by every service."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.sdk.driver import Scalar
from plantbus.v1 import telemetry_pb2

__all__ = ["now", "scalar", "timestamp", "timestamp_of"]


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
