"""A bounded on-disk spool for telemetry while NATS is unreachable.

Records (a key such as the subject, and a payload) are appended to segment files
``<n>.spool`` of ``segment_bytes``; at most ``max_bytes`` are kept. When the spool is full
the OLDEST segment is dropped (the newest data matters most to a running plant), and the
number of records lost is logged and counted in ``dropped``. Replay returns records in the
order they came.

The on-disk format (:mod:`plantbus.device.spool_format`) confines damage to what is
damaged: a bad stretch is logged with its segment and offset, counted in ``corrupt`` and
skipped, and the records after it still replay. A segment is sealed (a footer with its
count, then fsync of the file and the directory) when the spool moves on and on
:meth:`Spool.close`; opening reads only a sealed segment's header and footer, writes
nothing, and appending always starts a new segment.

A write the disk refuses (ENOSPC on a full disk, EIO) is not raised: the records not kept
are counted in ``lost``, a cut-off write is truncated away, and :attr:`Spool.health` keeps
the error until a write works again (logged once each way). Every append tries the disk
again, so the spool recovers by itself when space returns.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from io import FileIO
from pathlib import Path

from plantbus.device.spool_format import (
    FOOTER,
    HEAD,
    MAGIC,
    VERSION,
    Damage,
    Record,
    footer,
    footer_count,
    pack,
    records_of,
    version_of,
)
from plantbus.kit import telemetry as otel
from plantbus.kit.store_health import StoreHealth
from plantbus.sdk.errors import describe

__all__ = ["VERSION", "Spool"]

log = logging.getLogger(__name__)
_meter = otel.meter("plantbus.device")
_DROPPED = _meter.create_counter(
    "plantbus.device.spool_dropped", description="Spooled samples lost because the spool was full"
)
_LOST = _meter.create_counter(
    "plantbus.device.spool_lost",
    description="Samples the spool could not write: its disk refused them (full or failing)",
)
_CORRUPT = _meter.create_counter(
    "plantbus.device.spool_corrupt", description="Damaged stretches of spool segments skipped"
)


@dataclass(eq=False)
class _Segment:
    """One segment file as the spool knows it (``records`` from its footer or a scan)."""

    path: Path
    records: int
    size: int
    version: int = VERSION


def _write_all(out: FileIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[out.write(view) :]


def _fsync_dir(directory: Path) -> None:
    """Make the segments' names durable: a created or removed file lives in its directory."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _found(path: Path) -> _Segment | None:
    """A segment found on disk, counted from its footer when sealed; None when refused."""
    try:
        with open(path, "rb", buffering=0) as f:  # unbuffered: read only header and footer
            size = os.fstat(f.fileno()).st_size
            version = version_of(f.read(HEAD.size))
            if version not in (1, VERSION):
                log.error(
                    "telemetry spool: %s is in format version %d, this device service reads "
                    "versions 1 and %d; left on disk and not replayed (replay it with the "
                    "device service that wrote it, or delete it)",
                    path,
                    version,
                    VERSION,
                )
                return None
            if version == VERSION and size >= HEAD.size + FOOTER.size:
                f.seek(size - FOOTER.size)
                count = footer_count(f.read(FOOTER.size))
                if count is not None:
                    return _Segment(path, count, size)
            f.seek(0)
            data = f.read()
    except OSError as err:
        log.error("telemetry spool: cannot read %s (%s); left on disk", path, describe(err))
        return None
    return _Segment(path, len(records_of(data, version)[0]), size, version)


class Spool:
    """Append-only segments ``<n>.spool`` in ``directory``; survives a restart."""

    def __init__(
        self, directory: Path, max_bytes: int = 256 * 2**20, segment_bytes: int = 4 * 2**20
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.dropped = 0
        """Records dropped, oldest first, to stay within ``max_bytes``."""
        self.lost = 0
        """Records not kept because the disk refused to write them."""
        self.corrupt = 0
        """Damaged stretches skipped on replay (a garbled record is one)."""
        self.health = StoreHealth(f"telemetry spool {directory}", log)
        self._out: FileIO | None = None
        self._replaying: _Segment | None = None
        directory.mkdir(parents=True, exist_ok=True)
        paths = sorted(
            (p for p in directory.glob("*.spool") if p.stem.isdigit()), key=lambda p: int(p.stem)
        )
        self._next = int(paths[-1].stem) + 1 if paths else 1
        self._segments = [s for s in map(_found, paths) if s is not None]
        self.records = sum(s.records for s in self._segments)

    def __len__(self) -> int:
        return self.records

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return sum(s.size for s in self._segments)

    def append(self, subject: str, payload: bytes) -> None:
        """Store one record at the end."""
        self.extend([(subject, payload)])

    def extend(self, records: Sequence[Record]) -> int:
        """Store records at the end, in order, with one write per segment touched.

        Returns how many were kept: all of them, unless the disk refused a write (the rest
        are counted in ``lost`` and the error is in ``health``).
        """
        if not records:
            return 0
        kept = 0
        try:
            while kept < len(records):
                if self._out is None or self._segments[-1].size >= self.segment_bytes:
                    self._roll()
                kept += self._append(records[kept:])
        except OSError as err:
            self.lost += len(records) - kept
            _LOST.add(len(records) - kept)
            self.health.failed(err)
        else:
            self.health.worked()
        return kept

    def _append(self, records: Sequence[Record]) -> int:
        """Write as many records as the open segment takes (at least one); how many."""
        chunk = bytearray()
        count = 0
        for key, payload in records:
            if chunk and self._segments[-1].size + len(chunk) >= self.segment_bytes:
                break
            chunk += pack(key, payload)
            count += 1
        self._write(bytes(chunk))
        self._segments[-1].records += count
        self.records += count
        return count

    def _write(self, data: bytes) -> None:
        """Append all of ``data`` to the open segment, or nothing: a cut-off write is undone."""
        assert self._out is not None
        segment = self._segments[-1]
        try:
            _write_all(self._out, data)
        except OSError:
            with contextlib.suppress(OSError):  # if this fails too, replay skips the torn bytes
                os.ftruncate(self._out.fileno(), segment.size)
                self._out.seek(segment.size)
            raise
        segment.size += len(data)

    def _roll(self) -> None:
        """Seal the open segment and start the next one."""
        self._seal()
        path = self.directory / f"{self._next}.spool"
        out = open(path, "wb", buffering=0)  # noqa: SIM115 - held open until sealed
        try:
            _write_all(out, HEAD.pack(MAGIC, VERSION))
        except OSError:
            out.close()
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        self._next += 1
        self._segments.append(_Segment(path, 0, HEAD.size))
        self._out = out
        self._enforce_bound()

    def _seal(self) -> None:
        """Footer with the record count, fsync and close the open segment.

        A failure leaves the segment unsealed (the next start reads it to count it) and is
        reported in ``health``; the segment is closed either way.
        """
        out = self._out
        if out is None:
            return
        try:
            self._write(footer(self._segments[-1].records))
            os.fsync(out.fileno())
            _fsync_dir(self.directory)
        except OSError as err:
            self.health.failed(err)
        finally:
            out.close()
            self._out = None

    def _enforce_bound(self) -> None:
        while len(self._segments) > 1 and self.size > self.max_bytes:
            oldest = self._segments[0]
            self._remove(oldest)
            self.dropped += oldest.records
            _DROPPED.add(oldest.records)
            log.error(
                "telemetry spool full (%d bytes): dropped %d oldest records",
                self.max_bytes,
                oldest.records,
            )

    def _remove(self, segment: _Segment) -> None:
        self._segments.remove(segment)
        self.records -= segment.records
        try:
            segment.path.unlink(missing_ok=True)
        except OSError as err:
            self.health.failed(err)

    def oldest_segment(self) -> list[Record]:
        """The good records of the oldest segment, for replay. It is sealed first, so
        records appended during the replay go to a new segment and survive
        ``drop_oldest_segment``; damaged stretches are reported and skipped."""
        if not self._segments:
            return []
        segment = self._replaying = self._segments[0]
        if len(self._segments) == 1:
            self._seal()
        try:
            with open(segment.path, "rb") as f:
                records, damage = records_of(f.read(), segment.version)
        except OSError as err:
            records, damage = [], [Damage(0, segment.size, f"unreadable ({describe(err)})")]
        for d in damage:
            self.corrupt += 1
            _CORRUPT.add(1)
            log.error(
                "telemetry spool: %s at offset %d of %s: %d bytes skipped, replay goes on "
                "with the next good record",
                d.why,
                d.offset,
                segment.path,
                d.length,
            )
        return records

    def drop_oldest_segment(self) -> None:
        """Forget the segment the last ``oldest_segment`` returned, now it was replayed
        (unless the bound dropped it meanwhile)."""
        segment, self._replaying = self._replaying, None
        if segment is not None and segment in self._segments:
            self._remove(segment)

    def close(self) -> None:
        """Seal the open segment (its records are on disk); appending again starts a new
        one. Safe to call twice."""
        self._seal()
