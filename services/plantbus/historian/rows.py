"""Bus messages into store rows: telemetry batches into samples, events into events.

Pure: the caller passes what the stream knows (its timestamp) and the line paths.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.sdk.historian import Event, Sample
from plantbus.v1 import alerting_pb2, erp_pb2, maintenance_pb2, oee_pb2, telemetry_pb2

__all__ = ["SnapshotFilter", "TagFilter", "event_of", "final_key", "maintenance_key", "samples_of"]


class TagFilter:
    """Which tag paths are kept: the config's globs (``*`` keeps all, cheaply)."""

    def __init__(self, globs: Sequence[str]) -> None:
        self.all = "*" in globs
        self._match = re.compile("|".join(fnmatch.translate(g) for g in globs) or "(?!)").match

    def __call__(self, path: str) -> bool:
        """True when samples of ``path`` are kept."""
        return self.all or self._match(path) is not None


class SnapshotFilter:
    """Which OEE snapshots are kept: one per scope and slot of ``every_s`` seconds, and
    every one that changes the scope's state, shift or work order (0 keeps all)."""

    def __init__(self, every_s: float) -> None:
        self.every_us = int(every_s * 1_000_000)
        self._last: dict[str, tuple[int, str, str, str]] = {}

    def __call__(self, snapshot: oee_pb2.OeeSnapshot, time_us: int) -> bool:
        """True when ``snapshot`` (at ``time_us``) is kept; remembers what it keeps."""
        if not self.every_us:
            return True
        mark = (time_us // self.every_us, snapshot.state, snapshot.shift, snapshot.work_order)
        if self._last.get(snapshot.scope) == mark:
            return False
        self._last[snapshot.scope] = mark
        return True


def _time(ts: Timestamp, default_us: int) -> int:
    """``ts`` in microseconds, ``default_us`` when it is unset."""
    return int(ts.ToMicroseconds()) if ts.seconds or ts.nanos else default_us


def samples_of(
    batch: telemetry_pb2.TagSampleBatch, keep: TagFilter, not_before_us: int
) -> tuple[list[Sample], int]:
    """The kept samples of ``batch`` and how many were older than ``not_before_us`` (past
    the raw retention: storing them would corrupt rollups whose samples are gone)."""
    out: list[Sample] = []
    too_old = 0
    keep_all = keep.all
    new = tuple.__new__  # Sample(...) runs the NamedTuple's __new__ in Python
    for s in batch.samples:
        path = s.path
        if not (keep_all or keep(path)):
            continue
        ts = s.source_time  # seconds and nanos directly: ToMicroseconds() costs more
        t = ts.seconds * 1_000_000 + ts.nanos // 1000
        if t < not_before_us:
            too_old += 1
            continue
        value: float | None = None
        text: str | None = None
        tv = s.value  # each attribute access makes an object: once per sample
        kind = tv.WhichOneof("kind")
        if kind == "double_value":
            value = tv.double_value
        elif kind == "string_value":
            text = tv.string_value
        elif kind == "bytes_value":
            text = tv.bytes_value.hex()
        elif kind is not None:
            value = float(getattr(tv, kind))
        rt = s.receive_time
        receive = rt.seconds * 1_000_000 + rt.nanos // 1000 if rt.seconds else t
        out.append(new(Sample, (path, t, value, text, s.quality, receive)))
    return out, too_old


def final_key(msg: oee_pb2.OeeSnapshot) -> str:
    """What final figures are about: ``shift:<name>`` or ``work_order:<id>``; a higher
    revision with the same scope and key replaces the earlier figures."""
    return f"shift:{msg.shift}" if msg.shift else f"work_order:{msg.work_order}"


def _downtime_time(msg: oee_pb2.DowntimeEvent, stream_us: int) -> int:
    if msg.kind == oee_pb2.DOWNTIME_KIND_STARTED:
        return _time(msg.start, stream_us)
    if msg.kind == oee_pb2.DOWNTIME_KIND_ENDED:
        return _time(msg.end, stream_us)
    return stream_us


def _line_scope(subject: str, lines: Mapping[str, str]) -> str:
    """site/area/line for ``...erp.<family>.<site>.<line>`` (site/line when unknown)."""
    site, line = subject.split(".")[-2:]
    return lines.get(f"{site}/{line}", f"{site}/{line}")


def maintenance_key(msg: maintenance_pb2.MaintenanceEvent) -> str:
    """What a maintenance event is about: the tag of a window or anomaly, the plan of a
    forecast, warning, due point or return to ok, the component of a recorded
    maintenance."""
    if msg.HasField("window"):
        return msg.window.tag
    if msg.HasField("plan"):
        return msg.plan.plan
    return msg.usage.component


def event_of(
    msg: Message, data: bytes, subject: str, stream_us: int, lines: Mapping[str, str]
) -> Event | None:
    """The event to store for a decoded bus message (None for a type not kept);
    ``data`` is its payload as published, ``stream_us`` when the stream got it,
    ``lines`` maps site/line to the line's path."""
    if isinstance(msg, oee_pb2.OeeSnapshot):
        if msg.final:
            return Event("oee_final", msg.scope, _time(msg.time, stream_us), final_key(msg), data)
        return Event("oee", msg.scope, _time(msg.time, stream_us), msg.scope, data)
    if isinstance(msg, oee_pb2.DowntimeEvent):
        return Event("downtime", msg.machine, _downtime_time(msg, stream_us), msg.id, data)
    if isinstance(msg, alerting_pb2.AlarmEvent):
        return Event("alarm", msg.scope, _time(msg.time, stream_us), msg.id, data)
    if isinstance(msg, erp_pb2.WorkOrderEvent):
        scope = msg.machine or _line_scope(subject, lines)
        return Event("work_order", scope, stream_us, msg.erp_id, data)
    if isinstance(msg, erp_pb2.Confirmation):
        scope = msg.machine or _line_scope(subject, lines)
        return Event("confirmation", scope, _time(msg.end, stream_us), msg.idempotency_key, data)
    if isinstance(msg, maintenance_pb2.MaintenanceEvent):
        t = _time(msg.time, stream_us)
        return Event("maintenance", msg.machine, t, maintenance_key(msg), data)
    return None
