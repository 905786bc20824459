"""Events as JSON for the IT views: the protobuf payload decoded by kind (field names as
in the .proto files, timestamps as RFC 3339 strings, 64-bit integers as strings)."""

from __future__ import annotations

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from psycopg.types.json import Jsonb

from plantbus.v1 import alerting_pb2, erp_pb2, maintenance_pb2, oee_pb2

__all__ = ["event_doc"]

_TYPES: dict[str, type[Message]] = {
    "oee": oee_pb2.OeeSnapshot,
    "oee_final": oee_pb2.OeeSnapshot,
    "downtime": oee_pb2.DowntimeEvent,
    "alarm": alerting_pb2.AlarmEvent,
    "work_order": erp_pb2.WorkOrderEvent,
    "confirmation": erp_pb2.Confirmation,
    "maintenance": maintenance_pb2.MaintenanceEvent,
}


def event_doc(kind: str, data: bytes) -> Jsonb | None:
    """The event's message as JSON; None for a kind without a message type or a payload
    that does not decode (the bytes are kept all the same)."""
    cls = _TYPES.get(kind)
    if cls is None:
        return None
    try:
        msg = cls.FromString(data)
    except DecodeError:
        return None
    return Jsonb(json_format.MessageToDict(msg, preserving_proto_field_name=True))
