"""Bus messages as the JSON of the unified namespace, and the topic each goes to.

A tag's sample is ``{"timestamp_ms", "value", "quality", "unit"}``, the shape UMH and
Kepware's IoT Gateway publish, so their dashboards and flows read it unchanged. OEE
snapshots, alarms and downtime keep their protobuf field names, with plain JSON numbers
(int64 stays a number, not the string of protobuf's JSON mapping), enums as lower-case
names and each Timestamp ``x`` as ``x_ms`` (milliseconds since the epoch).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.kit.codec import scalar
from plantbus.v1 import telemetry_pb2

__all__ = ["alarm_topic", "downtime_topic", "encode", "oee_topic", "plain", "sample", "tag_topic"]

_QUALITY = {
    telemetry_pb2.QUALITY_GOOD: "good",
    telemetry_pb2.QUALITY_UNCERTAIN: "uncertain",
    telemetry_pb2.QUALITY_BAD: "bad",
}


def tag_topic(prefix: str, path: str) -> str:
    """``<prefix>/<site>/<area>/<line>/<machine>/<tag>``."""
    return f"{prefix}/{path}"


def oee_topic(prefix: str, scope: str) -> str:
    """A line's or machine's OEE: ``<prefix>/<scope>/_oee`` (plant names never start with
    ``_``, so no tag or machine has this topic)."""
    return f"{prefix}/{scope}/_oee"


def alarm_topic(prefix: str, scope: str, rule: str) -> str:
    """One alarm's state: ``<prefix>/<scope>/_alarms/<rule>``."""
    return f"{prefix}/{scope}/_alarms/{rule}"


def downtime_topic(prefix: str, machine: str) -> str:
    """A machine's downtime events: ``<prefix>/<machine>/_downtime``."""
    return f"{prefix}/{machine}/_downtime"


def _ms(ts: Timestamp) -> int:
    return int(ts.ToMilliseconds())


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a number becomes null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def sample(msg: telemetry_pb2.TagSample) -> dict[str, Any]:
    """One tag sample as the namespace's JSON."""
    when = msg.source_time if msg.HasField("source_time") else msg.receive_time
    return {
        "timestamp_ms": _ms(when),
        "value": _finite(scalar(msg.value)),
        "quality": _QUALITY.get(msg.quality, "bad"),  # unspecified: treat as bad
        "unit": msg.unit,
    }


def _enum_name(field: Any, value: int) -> str | int:
    """``DOWNTIME_KIND_STARTED`` of enum ``DowntimeKind`` as ``started``."""
    found = field.enum_type.values_by_number.get(value)
    if found is None:
        return value
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", field.enum_type.name).upper() + "_"
    return str(found.name).removeprefix(prefix).lower()


def _field(field: Any, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if isinstance(value, Timestamp):
            return _ms(value)
        return plain(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _enum_name(field, value)
    return _finite(value)


def plain(msg: Message) -> dict[str, Any]:
    """Every field of ``msg`` by its proto name (a field with presence only when set)."""
    out: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        stamp = field.message_type is not None and field.message_type.full_name == (
            Timestamp.DESCRIPTOR.full_name
        )
        key = f"{field.name}_ms" if stamp else field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            out[key] = {k: _field(value_field, v) for k, v in value.items()}
        elif field.is_repeated:
            out[key] = [_field(field, v) for v in value]
        elif field.has_presence and not msg.HasField(field.name):
            continue
        else:
            out[key] = _field(field, value)
    return out


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON, NaN refused (every number was made finite or null)."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
