"""The telemetry spool's on-disk format (pure: bytes in, records out).

The format (version 2) confines damage to what is damaged:

- A segment starts with a magic and the format version. A segment without them is
  version 1 (written before records had a CRC) and is read as it was written; a segment
  of any other version is refused with the reason and left on disk untouched.
- Each record is a marker, the key's and the payload's lengths, and a CRC-32 over the
  lengths, key and payload. A stretch that does not check out (a flipped bit, a garbled
  length, a write cut short by a crash) is logged with its segment and offset, counted in
  ``corrupt`` and skipped: reading resumes at the next marker that starts a good record,
  so the records after it and the later segments still replay.
- A segment is sealed when the spool moves on to the next one and when it closes:
  a footer with its record count, then fsync (of the file and of the directory) by
  :class:`plantbus.device.spool.Spool`. Opening a
  spool reads only the header and footer of a sealed segment; only a segment a crash left
  unsealed is read to count it. Opening writes nothing (a live spool can be counted from
  another process), and appending always starts a new segment.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = [
    "FOOTER",
    "HEAD",
    "MAGIC",
    "VERSION",
    "Damage",
    "Record",
    "footer",
    "footer_count",
    "pack",
    "records_of",
    "version_of",
]

VERSION = 2
"""The segment format written."""
MAGIC = b"PBSPOOL\n"
HEAD = struct.Struct(">8sH")  # magic, format version
_LENGTHS = struct.Struct(">HI")  # key length, payload length
_RECORD = struct.Struct(">4sHII")  # marker, key length, payload length, CRC-32
_RECORD_MARK = b"\xabREC"
FOOTER = struct.Struct(">4sII")  # marker, record count, CRC-32 of the count
_FOOTER_MARK = b"\xabEND"
_V1_RECORD = struct.Struct(">HI")  # version 1: key length, payload length, no CRC

Record = tuple[str, bytes]


@dataclass
class Damage:
    """A stretch of a segment that holds no good record."""

    offset: int
    length: int
    why: str


def pack(key: str, payload: bytes) -> bytes:
    raw = key.encode()
    crc = zlib.crc32(payload, zlib.crc32(raw, zlib.crc32(_LENGTHS.pack(len(raw), len(payload)))))
    return _RECORD.pack(_RECORD_MARK, len(raw), len(payload), crc) + raw + payload


def footer(count: int) -> bytes:
    return FOOTER.pack(_FOOTER_MARK, count, zlib.crc32(count.to_bytes(4, "big")))


def footer_count(data: bytes) -> int | None:
    """The record count a footer holds, or None when ``data`` is not a good footer."""
    if len(data) != FOOTER.size:
        return None
    mark, count, crc = FOOTER.unpack(data)
    return count if mark == _FOOTER_MARK and zlib.crc32(data[4:8]) == crc else None


def version_of(head: bytes) -> int:
    """The format version a segment's first bytes announce; 1 has no header."""
    if len(head) == HEAD.size and head.startswith(MAGIC):
        version: int = HEAD.unpack(head)[1]
        return version
    return 1


def _record_at(data: bytes, pos: int, end: int) -> tuple[Record, int] | str:
    """The record at ``pos`` and where the next one starts, or why there is none."""
    if pos + _RECORD.size > end:
        return "a record cut short"
    mark, key_len, payload_len, crc = _RECORD.unpack_from(data, pos)
    if mark != _RECORD_MARK:
        return "no record marker"
    start = pos + _RECORD.size
    stop = start + key_len + payload_len
    if stop > end:
        return "a length past the end of the segment"
    if zlib.crc32(data[start:stop], zlib.crc32(data[pos + 4 : pos + 10])) != crc:
        return "CRC mismatch"
    return (
        data[start : start + key_len].decode(errors="replace"),
        data[start + key_len : stop],
    ), stop


def _scan(data: bytes) -> tuple[list[Record], list[Damage]]:
    """The good records of a version-2 segment and the damaged stretches between them."""
    end = len(data)
    if end >= HEAD.size + FOOTER.size and footer_count(data[-FOOTER.size :]) is not None:
        end -= FOOTER.size
    records: list[Record] = []
    damage: list[Damage] = []
    pos = HEAD.size
    while pos < end:
        found = _record_at(data, pos, end)
        if isinstance(found, str):
            if not damage or damage[-1].offset + damage[-1].length != pos:
                damage.append(Damage(pos, 0, found))
            resume = data.find(_RECORD_MARK, pos + 1, end)
            pos = end if resume < 0 else resume
            damage[-1].length = pos - damage[-1].offset
            continue
        record, pos = found
        records.append(record)
    return records, damage


def _scan_v1(data: bytes) -> tuple[list[Record], list[Damage]]:
    """The records of a version-1 segment; what is left after the last whole one is damage."""
    records: list[Record] = []
    pos = 0
    while pos + _V1_RECORD.size <= len(data):
        key_len, payload_len = _V1_RECORD.unpack_from(data, pos)
        start = pos + _V1_RECORD.size
        end = start + key_len + payload_len
        if end > len(data):
            break
        records.append(
            (data[start : start + key_len].decode(errors="replace"), data[start + key_len : end])
        )
        pos = end
    tail = [Damage(pos, len(data) - pos, "a record cut short")] if pos < len(data) else []
    return records, tail


def records_of(data: bytes, version: int) -> tuple[list[Record], list[Damage]]:
    return _scan(data) if version == VERSION else _scan_v1(data)
