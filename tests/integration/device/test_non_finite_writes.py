"""NaN and infinities never reach a device: the gRPC layer refuses them with
INVALID_ARGUMENT naming the field, and the device service's own check refuses them (and
audits the refusal) for a caller that got past gRPC. A text write, which has no number
for the policies to check, still goes through."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from plantbus.device.service import DeviceService
from plantbus.governance.service import GovernanceService
from plantbus.kit import streams, subjects
from plantbus.kit.bus import Bus
from plantbus.sdk.errors import PermissionDenied
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2, device_pb2_grpc, service_pb2, telemetry_pb2

ENDPOINT = "memory://non-finite-writes"
CONFIG: dict[str, Any] = {
    "sites": [{"name": "s", "areas": [{"name": "a", "lines": [{"name": "l", "machines": [
        {"name": "m1"}]}]}]}],
    "devices": [
        {
            "name": "plc",
            "driver": "memory",
            "endpoint": ENDPOINT,
            "machine": "s/a/l/m1",
            "poll_interval_s": 0.05,
            "tags": [
                {"name": "setpoint", "address": "sp", "data_type": "float64",
                 "access": "read_write"},
                {"name": "mode", "address": "mode", "data_type": "string",
                 "access": "read_write"},
            ],
        }
    ],
    **people(eve=["device.read", "tag.read", "tag.write"]),
    "write_policies": [{"name": "m1", "roles": ["eve"], "tags": ["s/a/l/m1/*"]}],
}  # fmt: skip
AS_EVE = (("x-plantbus-user", "eve"),)


async def last_audit(bus: Bus, service: str) -> service_pb2.AuditRecord:
    """The latest audit record of ``service`` in the audit stream."""
    msg = await bus.js.get_last_msg(streams.AUDIT.name, subjects.audit(service))
    return service_pb2.AuditRecord.FromString(msg.data or b"")


@pytest.fixture
async def device(bus: Bus, nats_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    state = MemoryDriver.devices.setdefault(ENDPOINT, MemoryDevice())
    state.values.update(sp=12.5, mode="manual")
    await put_config(bus, CONFIG)
    services = [GovernanceService, DeviceService]
    async with hosted(services, nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["device"]
        assert isinstance(service, DeviceService)
        await wait_until(lambda: "plc" in service.runners and service.runners["plc"].counters.polls)
        yield runner, service, state


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
async def test_a_non_finite_write_over_grpc_is_invalid_and_never_reaches_the_device(
    device: Any, value: float
) -> None:
    runner, _, state = device
    async with operator_channel(runner) as chan:
        stub = device_pb2_grpc.DeviceServiceStub(chan)
        request = device_pb2.WriteTagRequest(
            device="plc", tag="setpoint", value=telemetry_pb2.TagValue(double_value=value)
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.WriteTag(request, metadata=AS_EVE)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details() == (
            f"WriteTagRequest.value.double_value is {value}: only finite numbers are accepted"
        )
        read = await stub.ReadTags(device_pb2.ReadTagsRequest(device="plc", tags=["setpoint"]))
        assert state.values["sp"] == 12.5
        assert [s.value.double_value for s in read.samples] == [12.5]
        finite = telemetry_pb2.TagValue(double_value=13.0)
        written = await stub.WriteTag(
            device_pb2.WriteTagRequest(device="plc", tag="setpoint", value=finite),
            metadata=AS_EVE,
        )
        assert written.read_back.value.double_value == 13.0


async def test_a_text_write_still_goes_through(device: Any) -> None:
    runner, _, state = device
    async with operator_channel(runner) as chan:
        written = await device_pb2_grpc.DeviceServiceStub(chan).WriteTag(
            device_pb2.WriteTagRequest(
                device="plc", tag="mode", value=telemetry_pb2.TagValue(string_value="auto")
            ),
            metadata=AS_EVE,
        )
    assert (written.policy, state.values["mode"]) == ("m1", "auto")


async def test_the_device_service_refuses_infinity_itself_and_audits_it(
    device: Any, bus: Bus
) -> None:
    _, service, state = device
    with pytest.raises(PermissionDenied, match="takes finite numbers only; inf is not one"):
        await service.write("plc", "setpoint", math.inf, "eve", "push it")
    assert state.values["sp"] == 12.5
    denied = await last_audit(bus, "device")  # stored before the refusal was answered
    assert (denied.target, denied.actor, denied.outcome) == (
        "s/a/l/m1/setpoint",
        "eve",
        service_pb2.AUDIT_OUTCOME_DENIED,
    )
