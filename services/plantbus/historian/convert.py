"""Store rows into HistorianService messages."""

from __future__ import annotations

from typing import Final

from google.protobuf.message import Message

from plantbus.sdk.historian import Bucket, Event, Sample
from plantbus.v1 import alerting_pb2, erp_pb2, historian_pb2, maintenance_pb2, oee_pb2

__all__ = ["EVENT_KINDS", "bucket", "event", "sample"]

EVENT_KINDS: Final[dict[int, str]] = {
    historian_pb2.EVENT_KIND_OEE: "oee",
    historian_pb2.EVENT_KIND_DOWNTIME: "downtime",
    historian_pb2.EVENT_KIND_ALARM: "alarm",
    historian_pb2.EVENT_KIND_WORK_ORDER: "work_order",
    historian_pb2.EVENT_KIND_CONFIRMATION: "confirmation",
    historian_pb2.EVENT_KIND_OEE_FINAL: "oee_final",
    historian_pb2.EVENT_KIND_MAINTENANCE: "maintenance",
}
"""EventKind -> the kind as stored."""
_FIELDS: Final[dict[str, tuple[int, str, type[Message]]]] = {
    "oee": (historian_pb2.EVENT_KIND_OEE, "oee", oee_pb2.OeeSnapshot),
    "downtime": (historian_pb2.EVENT_KIND_DOWNTIME, "downtime", oee_pb2.DowntimeEvent),
    "alarm": (historian_pb2.EVENT_KIND_ALARM, "alarm", alerting_pb2.AlarmEvent),
    "work_order": (historian_pb2.EVENT_KIND_WORK_ORDER, "work_order", erp_pb2.WorkOrderEvent),
    "confirmation": (historian_pb2.EVENT_KIND_CONFIRMATION, "confirmation", erp_pb2.Confirmation),
    "oee_final": (historian_pb2.EVENT_KIND_OEE_FINAL, "oee", oee_pb2.OeeSnapshot),
    "maintenance": (
        historian_pb2.EVENT_KIND_MAINTENANCE,
        "maintenance",
        maintenance_pb2.MaintenanceEvent,
    ),
}


def sample(s: Sample, with_receive: bool = True) -> historian_pb2.HistorySample:
    """One stored sample."""
    out = historian_pb2.HistorySample(path=s.tag, quality=s.quality)  # type: ignore[arg-type]
    out.time.FromMicroseconds(s.time_us)
    if s.value is not None:
        out.value.double_value = s.value
    elif s.text is not None:
        out.value.string_value = s.text
    if with_receive and s.receive_us:
        out.receive_time.FromMicroseconds(s.receive_us)
    return out


def bucket(b: Bucket, width_us: int) -> historian_pb2.HistoryBucket:
    """One aggregate."""
    out = historian_pb2.HistoryBucket(count=b.samples, good_fraction=b.good_fraction)
    out.start.FromMicroseconds(b.start_us)
    out.end.FromMicroseconds(b.start_us + width_us)
    for name, value in (
        ("min", b.min),
        ("max", b.max),
        ("mean", b.mean),
        ("time_weighted_mean", b.time_weighted_mean),
        ("first", b.first),
        ("last", b.last),
    ):
        if value is not None:
            setattr(out, name, value)
    return out


def event(e: Event) -> historian_pb2.HistoryEvent:
    """One stored event with its message decoded."""
    kind, field, cls = _FIELDS[e.kind]
    out = historian_pb2.HistoryEvent(kind=kind, scope=e.scope, key=e.key)  # type: ignore[arg-type]
    out.time.FromMicroseconds(e.time_us)
    getattr(out, field).CopyFrom(cls.FromString(e.data))
    return out
