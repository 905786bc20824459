"""Encode and decode typed values to and from 16-bit registers, with byte and word order.

Shared by every register-based protocol (Modbus and vendor protocols alike), so each
driver does not reinvent big-endian, little-endian and swapped-word layouts.
"""

from __future__ import annotations

import struct
from typing import Final

from plantbus.sdk.driver import ByteOrder, DataType, Scalar
from plantbus.sdk.errors import DriverConfigError

__all__ = ["decode", "encode", "register_count"]

_FORMATS: Final[dict[DataType, str]] = {
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
    DataType.FLOAT32: "f",
    DataType.FLOAT64: "d",
}


def register_count(data_type: DataType, length: int = 0) -> int:
    """How many registers a value occupies (``length`` characters for strings)."""
    if data_type == DataType.BOOL:
        return 1
    if data_type == DataType.STRING:
        if length <= 0:
            raise DriverConfigError("a string tag needs a length (characters) > 0")
        return (length + 1) // 2
    return struct.calcsize(_FORMATS[data_type]) // 2


def _words_to_bytes(words: list[int], byte_order: ByteOrder, word_order: ByteOrder) -> bytes:
    ordered = words if word_order == ByteOrder.BIG else list(reversed(words))
    out = bytearray()
    for word in ordered:
        pair = word.to_bytes(2, "big")
        out += pair if byte_order == ByteOrder.BIG else pair[::-1]
    return bytes(out)


def _bytes_to_words(data: bytes, byte_order: ByteOrder, word_order: ByteOrder) -> list[int]:
    words = []
    for i in range(0, len(data), 2):
        pair = data[i : i + 2]
        words.append(int.from_bytes(pair if byte_order == ByteOrder.BIG else pair[::-1], "big"))
    return words if word_order == ByteOrder.BIG else list(reversed(words))


def decode(
    words: list[int],
    data_type: DataType,
    byte_order: ByteOrder = ByteOrder.BIG,
    word_order: ByteOrder = ByteOrder.BIG,
) -> Scalar:
    """The value stored in ``words`` (exactly register_count() of them)."""
    if data_type == DataType.BOOL:
        return bool(words[0])
    raw = _words_to_bytes(words, byte_order, word_order)
    if data_type == DataType.STRING:
        return raw.split(b"\x00", 1)[0].decode("latin-1")
    value: Scalar = struct.unpack(">" + _FORMATS[data_type], raw)[0]
    return value


def encode(
    value: Scalar,
    data_type: DataType,
    byte_order: ByteOrder = ByteOrder.BIG,
    word_order: ByteOrder = ByteOrder.BIG,
    length: int = 0,
) -> list[int]:
    """Registers holding ``value``; DriverConfigError when it does not fit the type."""
    if data_type == DataType.BOOL:
        return [1 if value else 0]
    if data_type == DataType.STRING:
        count = register_count(data_type, length)
        text = str(value).encode("latin-1")[: count * 2].ljust(count * 2, b"\x00")
        return _bytes_to_words(text, byte_order, word_order)
    fmt = _FORMATS[data_type]
    try:
        number = float(value) if fmt in "fd" else int(value)  # type: ignore[arg-type]
        raw = struct.pack(">" + fmt, number)
    except (struct.error, TypeError, ValueError) as err:
        raise DriverConfigError(f"value {value!r} does not fit {data_type}: {err}") from err
    return _bytes_to_words(raw, byte_order, word_order)
