"""One write's worth of bus messages, with the stream positions they reach.

A message at or below its stream's mark (what the store holds, or an earlier message
of this batch) is a redelivery and is skipped, so nothing is stored twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from plantbus.historian.cycle_wire import samples_in_cycle
from plantbus.historian.rows import SnapshotFilter, TagFilter, event_of, samples_of
from plantbus.kit.bus import decode
from plantbus.sdk.errors import ValidationFailed
from plantbus.sdk.historian import Event, Sample, WriteBatch
from plantbus.v1 import oee_pb2, telemetry_pb2

__all__ = ["Pending"]


@dataclass
class Pending:
    """Rows gathered from messages, not yet written."""

    marks: dict[str, int]
    """Stream -> the highest sequence taken (starts at what the store holds)."""
    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    messages: int = 0
    redelivered: int = 0
    undecodable: int = 0
    too_old: int = 0
    thinned: int = 0
    moved: set[str] = field(default_factory=set)
    paths: dict[bytes, str] = field(default_factory=dict)
    """Tag paths as the wire has them, decoded (shared across batches by the caller)."""

    def _take(self, stream: str, seq: int) -> bool:
        if seq <= self.marks.get(stream, 0):
            self.redelivered += 1
            return False
        self.marks[stream] = seq
        self.moved.add(stream)
        self.messages += 1
        return True

    def add_telemetry(
        self, stream: str, seq: int, data: bytes, keep: TagFilter, not_before_us: int
    ) -> None:
        """A TagSampleBatch message."""
        if not self._take(stream, seq):
            return
        read = samples_in_cycle(data, None if keep.all else keep, not_before_us, self.paths)
        if read is None:  # not as the device service writes it
            try:
                batch = telemetry_pb2.TagSampleBatch.FromString(data)
            except DecodeError:
                self.undecodable += 1
                return
            read = samples_of(batch, keep, not_before_us)
        samples, too_old = read
        self.samples.extend(samples)
        self.too_old += too_old

    def add_event(
        self,
        stream: str,
        seq: int,
        subject: str,
        data: bytes,
        headers: Mapping[str, str] | None,
        stream_us: int,
        lines: Mapping[str, str],
        snapshots: SnapshotFilter,
    ) -> None:
        """An event message of any kind the historian keeps (others are passed over, and
        OEE snapshots thinned by ``snapshots``)."""
        if not self._take(stream, seq):
            return
        try:
            msg = decode(data, headers)
        except ValidationFailed:
            self.undecodable += 1
            return
        event = event_of(msg, data, subject, stream_us, lines)
        if event is None:
            return
        if (
            isinstance(msg, oee_pb2.OeeSnapshot)
            and not msg.final
            and not snapshots(msg, event.time_us)
        ):
            self.thinned += 1
            return
        self.events.append(event)

    def write_batch(self) -> WriteBatch:
        """The rows and the positions they reach."""
        return WriteBatch(
            samples=self.samples,
            events=self.events,
            positions={s: self.marks[s] for s in self.moved},
        )
