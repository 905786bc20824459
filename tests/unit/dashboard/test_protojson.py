"""The dashboard's JSON of a message is ``MessageToDict``'s with proto field names, for
every message type it relays or answers with and any values in them (NaN, infinities,
64-bit integers, maps, nested and repeated messages, unknown enum numbers)."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.dashboard.protojson import to_dict
from plantbus.v1 import (
    alerting_pb2,
    erp_pb2,
    maintenance_pb2,
    oee_pb2,
    service_pb2,
    telemetry_pb2,
)

F = FieldDescriptor
TYPES: list[type[Message]] = [
    oee_pb2.OeeSnapshot,
    oee_pb2.DowntimeEvent,
    alerting_pb2.AlarmEvent,
    service_pb2.ServiceHeartbeat,
    erp_pb2.WorkOrderEvent,
    maintenance_pb2.MaintenanceEvent,
    maintenance_pb2.GetMaintenanceStatusResponse,
    telemetry_pb2.TagSampleBatch,
]
_INT_BITS = {
    F.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    F.CPPTYPE_UINT32: (0, 2**32 - 1),
    F.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    F.CPPTYPE_UINT64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    cpp = field.cpp_type
    if cpp in _INT_BITS:
        low, high = _INT_BITS[cpp]
        return st.integers(low, high)
    if cpp == F.CPPTYPE_DOUBLE:
        return st.floats(allow_nan=True, allow_infinity=True)
    if cpp == F.CPPTYPE_FLOAT:
        return st.floats(width=32, allow_nan=True, allow_infinity=True)
    if cpp == F.CPPTYPE_BOOL:
        return st.booleans()
    if cpp == F.CPPTYPE_ENUM:
        assert field.enum_type is not None
        return st.sampled_from([v.number for v in field.enum_type.values] + [99])
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=8)
    return st.text(max_size=8)


@st.composite
def _fill(draw: st.DrawFn, descriptor: Any, msg: Message, depth: int) -> Message:
    for field in descriptor.fields:
        if not draw(st.booleans()):
            continue
        target = getattr(msg, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            for key in draw(st.lists(_scalar(key_field), max_size=3)):
                if value_field.message_type is None:
                    target[key] = draw(_scalar(value_field))
                elif depth < 2:
                    draw(_fill(value_field.message_type, target[key], depth + 1))
        elif field.message_type is not None:
            if depth >= 2:
                continue
            if field.is_repeated:
                for _ in range(draw(st.integers(0, 2))):
                    draw(_fill(field.message_type, target.add(), depth + 1))
            elif field.message_type.full_name == "google.protobuf.Timestamp":
                target.FromNanoseconds(draw(st.integers(0, 2**62)))
            else:
                target.SetInParent()
                draw(_fill(field.message_type, target, depth + 1))
        elif field.is_repeated:
            target.extend(draw(st.lists(_scalar(field), max_size=3)))
        else:
            setattr(msg, field.name, draw(_scalar(field)))
    return msg


@st.composite
def messages(draw: st.DrawFn) -> Message:
    cls = draw(st.sampled_from(TYPES))
    return draw(_fill(cls.DESCRIPTOR, cls(), 0))


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN included (it comes as the text "NaN" from both), and in the same order."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(messages())
def test_it_is_message_to_dict(msg: Message) -> None:
    assert _same(to_dict(msg), MessageToDict(msg, preserving_proto_field_name=True))


def test_an_oee_snapshot_with_every_kind_of_field() -> None:
    snap = oee_pb2.OeeSnapshot(
        scope="p/a/l0/m1", state="running", oee=float("nan"), total_count=2**62, revision=3
    )
    snap.time.FromSeconds(1_700_000_000)
    snap.downtime_by_reason["fault"] = float("inf")
    assert _same(to_dict(snap), MessageToDict(snap, preserving_proto_field_name=True))
    assert to_dict(snap)["total_count"] == str(2**62)
