"""Samples straight from a device cycle's bytes, without protobuf objects.

A ``TagSampleBatch`` as the device service writes it (plantbus.device.wire) holds its
samples' fields in field order, short lengths, and the same timestamps for every sample
of a cycle. Reading those bytes here costs about two thirds of building the protobuf
objects and reading their attributes (each access makes an object). Anything else (a
field out of order, a text value, a long path, malformed bytes) gives None, and the
caller decodes the message with protobuf: the rows are the same either way (tests
compare them).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from plantbus.kit.protowire import varint_at
from plantbus.sdk.historian import Sample

__all__ = ["samples_in_cycle"]

_DOUBLE = struct.Struct("<d").unpack_from
_NEW = tuple.__new__  # Sample(...) runs the NamedTuple's __new__ in Python
_INT64 = 1 << 63


class _Unusual(Exception):
    """Not in the device service's form: decode with protobuf."""


def _skip(data: bytes, at: int) -> int:
    """The offset after the short length-delimited field at ``at``."""
    size = data[at + 1]
    if size >= 0x80:
        raise _Unusual
    return at + 2 + size


def _signed(value: int) -> int:
    """An int64 or int32 varint's value (negatives are ten bytes of two's complement)."""
    return value - (1 << 64) if value >= _INT64 else value


def _micros(data: bytes) -> tuple[int, int]:
    """A serialized Timestamp: its microseconds and its seconds."""
    seconds = nanos = at = 0
    while at < len(data):
        key = data[at]
        value, at = varint_at(data, at + 1)
        if key == 0x08:
            seconds = _signed(value)
        elif key == 0x10:
            nanos = _signed(value)
        else:
            raise _Unusual
    return seconds * 1_000_000 + nanos // 1000, seconds


def _times(data: bytes) -> tuple[int, int]:
    """Fields 4 and 5 of a TagSample (either may be missing): source and receive time,
    as ``samples_of`` reads them."""
    source = receive = b""
    at = 0
    if at < len(data) and data[at] == 0x22:
        end = _skip(data, at)
        source, at = data[at + 2 : end], end
    if at < len(data) and data[at] == 0x2A:
        end = _skip(data, at)
        receive, at = data[at + 2 : end], end
    if at != len(data):
        raise _Unusual
    t = _micros(source)[0]
    received, seconds = _micros(receive)
    return t, received if seconds else t


def _value(data: bytes, at: int) -> tuple[float | None, int]:
    """Field 2 of a TagSample at ``at``: a double, an integer or a bool as a float, or
    None for the empty value; the offset after it."""
    size, kind = data[at + 1], data[at + 2]
    if size >= 0x80:
        raise _Unusual
    if size == 9 and kind == 0x21:
        return _DOUBLE(data, at + 3)[0], at + 11
    if size == 0:
        return None, at + 2
    end = at + 2 + size
    if kind == 0x10:  # sint64: zigzag
        value, after = varint_at(data, at + 3)
        number = (value >> 1) ^ -(value & 1)
    elif kind in (0x08, 0x18):  # bool, uint64
        number, after = varint_at(data, at + 3)
        if kind == 0x08:
            number = int(number != 0)
    else:
        raise _Unusual
    if after != end:
        raise _Unusual
    return float(number), end


def samples_in_cycle(
    data: bytes, keep: Callable[[str], bool] | None, not_before_us: int, paths: dict[bytes, str]
) -> tuple[list[Sample], int] | None:
    """What ``samples_of`` gives for the TagSampleBatch ``data`` (``keep`` None keeps every
    path), or None when ``data`` is not in the device service's form. ``paths`` caches
    the decoded paths (the caller keeps it across messages)."""
    try:
        return _read(data, keep, not_before_us, paths)
    except (_Unusual, IndexError, UnicodeDecodeError):
        return None


def _read(
    data: bytes, keep: Callable[[str], bool] | None, not_before_us: int, paths: dict[bytes, str]
) -> tuple[list[Sample], int]:
    out: list[Sample] = []
    append = out.append
    times: dict[bytes, tuple[int, int]] = {}
    too_old = at = 0
    n = len(data)
    while at < n:
        field, size = data[at], data[at + 1]
        if size >= 0x80:
            size, start = varint_at(data, at + 1)
        else:
            start = at + 2
        at = start + size
        if at > n:
            raise _Unusual
        if field == 0x12:  # the batch's device
            continue
        if field != 0x0A or data[start] != 0x0A or data[start + 1] >= 0x80:
            raise _Unusual
        i = start + 2 + data[start + 1]
        key = data[start + 2 : i]
        path = paths.get(key)
        if path is None:
            path = paths[key] = key.decode()
        if data[i : i + 3] == b"\x12\x09\x21":  # a double, the usual value, inline
            value: float | None = _DOUBLE(data, i + 3)[0]
            i += 11
        elif data[i] == 0x12:
            value, i = _value(data, i)
        else:
            raise _Unusual
        if i < at and data[i] == 0x1A:  # the unit
            i = _skip(data, i)
        # the timestamps, the same for every sample of a cycle: read once
        j = i
        if j < at and data[j] == 0x22:
            j += 2 + data[j + 1]
        if j < at and data[j] == 0x2A:
            j += 2 + data[j + 1]
        stamp = data[i:j]
        pair = times.get(stamp)
        if pair is None:
            pair = times[stamp] = _times(stamp)
        quality = 0
        if j < at and data[j] == 0x30:
            quality = data[j + 1]
            j += 2
        if j < at and data[j] == 0x3A:  # the quality's reason
            j = _skip(data, j)
        if j < at and data[j] == 0x40:  # the sequence
            j += 1
            while data[j] >= 0x80:
                j += 1
            j += 1
        if j != at or quality >= 0x80:
            raise _Unusual
        if keep is not None and not keep(path):
            continue
        t = pair[0]
        if t < not_before_us:
            too_old += 1
            continue
        append(_NEW(Sample, (path, t, value, None, quality, pair[1])))
    return out, too_old
