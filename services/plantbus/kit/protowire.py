"""Protobuf's wire format read by hand, for the hot paths that read a device cycle's bytes
without building message objects (the device service's spool and split, the historian's
decoding): the base-128 varint."""

from __future__ import annotations

__all__ = ["varint_at"]


def varint_at(data: bytes, at: int) -> tuple[int, int]:
    """The varint that starts at ``data[at]`` and the offset right after it; IndexError
    when ``data`` ends inside it."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
