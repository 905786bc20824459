"""A bounded on-disk spool for telemetry while NATS is unreachable.

Records (a key such as the subject, and a payload) are appended to segment files of
``segment_bytes``; at most ``max_bytes`` are kept. When the spool is full the OLDEST
segment is dropped (the newest data matters most to a running plant), and the number of
records lost is logged and counted in ``dropped``. Replay returns records in the order
they came.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

from plantbus.kit import telemetry as otel

__all__ = ["Spool"]

log = logging.getLogger(__name__)
_DROPPED = otel.meter("plantbus.device").create_counter(
    "plantbus.device.spool_dropped", description="Spooled samples lost because the spool was full"
)
_HEADER = struct.Struct(">HI")  # subject length, payload length


class Spool:
    """Append-only segments ``<n>.spool`` in ``directory``; survives a restart."""

    def __init__(
        self, directory: Path, max_bytes: int = 256 * 2**20, segment_bytes: int = 4 * 2**20
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.dropped = 0
        self._roll = False
        directory.mkdir(parents=True, exist_ok=True)
        self._segments = sorted(directory.glob("*.spool"), key=lambda p: int(p.stem))
        self.records = sum(1 for seg in self._segments for _ in self._read(seg))

    def __len__(self) -> int:
        return self.records

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return sum(p.stat().st_size for p in self._segments if p.exists())

    def append(self, subject: str, payload: bytes) -> None:
        """Store one record at the end."""
        self.extend([(subject, payload)])

    def extend(self, records: Sequence[tuple[str, bytes]]) -> None:
        """Store records at the end, in order, with one file open per segment touched."""
        at = 0
        while at < len(records):
            if (
                not self._segments
                or self._roll
                or self._segments[-1].stat().st_size >= self.segment_bytes
            ):
                self._roll = False
                number = int(self._segments[-1].stem) + 1 if self._segments else 1
                self._segments.append(self.directory / f"{number}.spool")
                self._segments[-1].touch()
                self._enforce_bound()
            room = self.segment_bytes - self._segments[-1].stat().st_size
            chunk = bytearray()
            while at < len(records) and (not chunk or len(chunk) < room):
                subject, payload = records[at]
                at += 1
                raw = subject.encode()
                chunk += _HEADER.pack(len(raw), len(payload)) + raw + payload
                self.records += 1
            with self._segments[-1].open("ab") as out:
                out.write(chunk)

    def _enforce_bound(self) -> None:
        while len(self._segments) > 1 and self.size > self.max_bytes:
            oldest = self._segments.pop(0)
            lost = sum(1 for _ in self._read(oldest))
            oldest.unlink()
            self.records -= lost
            self.dropped += lost
            _DROPPED.add(lost)
            log.error(
                "telemetry spool full (%d bytes): dropped %d oldest records", self.max_bytes, lost
            )

    @staticmethod
    def _read(segment: Path) -> Iterator[tuple[str, bytes]]:
        data = segment.read_bytes()
        pos = 0
        while pos + _HEADER.size <= len(data):
            subject_len, payload_len = _HEADER.unpack_from(data, pos)
            start = pos + _HEADER.size
            end = start + subject_len + payload_len
            if end > len(data):
                break  # a torn final record from a crash: ignore it
            yield data[start : start + subject_len].decode(), data[start + subject_len : end]
            pos = end

    def oldest_segment(self) -> list[tuple[str, bytes]]:
        """The records of the oldest segment, for replay; it is sealed, so records appended
        during the replay go to a new segment and survive ``drop_oldest_segment``."""
        if not self._segments:
            return []
        self._roll = len(self._segments) == 1
        return list(self._read(self._segments[0]))

    def drop_oldest_segment(self) -> None:
        """Forget the oldest segment after it was replayed."""
        if self._segments:
            segment = self._segments.pop(0)
            self.records -= sum(1 for _ in self._read(segment))
            segment.unlink()
