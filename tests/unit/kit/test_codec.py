"""Bus messages as the SDK dataclasses a plugin sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from plantbus.erp.convert import confirmation_from_proto
from plantbus.kit import codec
from plantbus.sdk.maintenance import MaintenanceRequest
from plantbus.v1 import erp_pb2, maintenance_pb2

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_a_request_keeps_every_field_its_timestamps_as_utc_and_its_map_as_a_dict() -> None:
    msg = maintenance_pb2.MaintenanceRequest(
        key="p:0:due:cmms", plan="p", machine="s/a/l/m1", component="spindle", reason="due",
        message="replace", time=codec.timestamp_of(T0), usage={"cycles": 3.0}, connector="cmms",
    )  # fmt: skip
    request = codec.as_dataclass(MaintenanceRequest, msg)
    assert request == MaintenanceRequest(
        "p:0:due:cmms", "p", "s/a/l/m1", "spindle", "due", "replace", T0, None, {"cycles": 3.0}
    )
    assert type(request.usage) is dict
    msg.due.CopyFrom(codec.timestamp_of(T0))
    assert codec.as_dataclass(MaintenanceRequest, msg).due == T0


def test_a_confirmation_leaves_what_the_bus_lacks_at_its_default() -> None:
    msg = erp_pb2.Confirmation(
        idempotency_key="WO-1:2", connection="erp1", work_order_erp_id="WO-1", good_quantity=3,
        start=codec.timestamp_of(T0), end=codec.timestamp_of(T0), sequence=2, final=True,
    )  # fmt: skip
    confirmation = confirmation_from_proto(msg)
    assert confirmation.idempotency_key == "WO-1:2" and confirmation.sequence == 2
    assert confirmation.final and confirmation.machine == ""
    assert confirmation.good_quantity == 3 and confirmation.start == T0
    assert confirmation.operation_erp_id == ""


def test_a_message_field_it_cannot_convert_is_refused() -> None:
    @dataclass
    class Letter:
        confirmation: object
        error: str

    with pytest.raises(TypeError, match=r"Letter\.confirmation: no conversion for Confirmation"):
        codec.as_dataclass(Letter, erp_pb2.DeadLetter(error="no"))
