"""Random but well-formed gRPC requests to every service of a hub with a real device, a
raised alarm and a real downtime episode, so that the requests reach them: ids, names and
reasons are real ones, hostile ones (subject wildcards, control characters, markup,
100,000 characters) or random text; numbers include NaN, infinities and extremes; tag
values are of every kind. Every call is answered with OK or a precise status, never
INTERNAL, UNKNOWN or RESOURCE_EXHAUSTED and never a hang; a request carrying NaN or
an infinity is INVALID_ARGUMENT; afterwards every service still does its work."""

from __future__ import annotations

import math
import operator
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from plantbus.alerting.service import AlertingService
from plantbus.config.security import PERMISSIONS
from plantbus.device.service import DeviceService
from plantbus.erp.service import ErpService
from plantbus.governance.service import GovernanceService
from plantbus.kit.bus import Bus
from plantbus.kit.runner import Runner
from plantbus.oee.service import OeeService
from plantbus.testing.config import people, put_config
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver
from plantbus.testing.waiting import wait_until
from plantbus.v1 import (
    alerting_pb2,
    alerting_pb2_grpc,
    device_pb2,
    device_pb2_grpc,
    erp_pb2,
    erp_pb2_grpc,
    governance_pb2,
    governance_pb2_grpc,
    oee_pb2,
    oee_pb2_grpc,
    telemetry_pb2,
)

MACHINE = "s/a/l/m1"
ALARM = f"hot@{MACHINE}"
ENDPOINT = "memory://fuzz-grpc-plc"
CONFIG: dict[str, Any] = {
    "sites": [{"name": "s", "areas": [{"name": "a", "lines": [{"name": "l", "machines": [
        {"name": "m1"}]}]}]}],
    "devices": [
        {
            "name": "plc",
            "driver": "memory",
            "endpoint": ENDPOINT,
            "machine": MACHINE,
            "poll_interval_s": 0.1,
            "tags": [
                {"name": "state", "address": "st", "data_type": "int16"},
                {"name": "temp", "address": "t", "data_type": "float32"},
                {"name": "setpoint", "address": "sp", "data_type": "float64",
                 "access": "read_write", "min": -1e6, "max": 1e6},
                {"name": "count", "address": "c", "data_type": "int32",
                 "access": "read_write"},
                {"name": "mode", "address": "mode", "data_type": "string",
                 "access": "read_write"},
            ],
        }
    ],
    "oee": [
        {
            "machine": MACHINE,
            "state_tag": "state",
            "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
            "ideal_cycle_time_s": 1.0,
        }
    ],
    "alert_rules": [
        {"name": "hot", "kind": "high", "machine": MACHINE, "tag": "temp", "limit": 70},
    ],
    **people(eve=list(PERMISSIONS)),
    "write_policies": [{"name": "m1", "roles": ["eve"], "tags": [f"{MACHINE}/*"]}],
}  # fmt: skip
AS_EVE = (("x-plantbus-user", "eve"),)

HOSTILE = [
    "",
    " ",
    "*",
    ">",
    "plantbus.v1.>",
    "a.b",
    "..",
    "../../etc/passwd",
    "\x00",
    "line\nbreak",
    "x');document.title='pwned';//",
    "<script>alert(1)</script>",
    "${HOME}",
    "%s%n",
    f"{ALARM} ",
    ALARM.upper(),
    "\u202edesrever",
    "\U0001f525",
]
huge = st.builds(
    operator.mul,
    st.sampled_from(["x", "é", "\U0001f525", "\x00", "*"]),
    st.integers(1_000, 100_000),
)
numbers = st.one_of(
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 2.0**63]),
)


def texts(*real: str) -> st.SearchStrategy[str]:
    """Real names (two times in five), hostile ones, random text and huge text."""
    hostile = [st.sampled_from(HOSTILE), st.text(max_size=40), huge]
    return st.one_of(*([st.sampled_from(real)] * 2 if real else []), *hostile)


def tag_values() -> st.SearchStrategy[telemetry_pb2.TagValue]:
    """Every kind of tag value, and none."""
    value = telemetry_pb2.TagValue
    return st.one_of(
        st.builds(lambda x: value(double_value=x), st.floats(-1e6, 1e6)),  # within the limits
        st.builds(lambda n: value(int_value=n), st.integers(-100, 100)),
        st.builds(lambda x: value(double_value=x), numbers),
        st.builds(lambda n: value(int_value=n), st.integers(-(2**63), 2**63 - 1)),
        st.builds(lambda n: value(uint_value=n), st.integers(0, 2**64 - 1)),
        st.builds(lambda b: value(bool_value=b), st.booleans()),
        st.builds(lambda s: value(string_value=s), texts("auto", "manual")),
        st.builds(lambda b: value(bytes_value=b), st.binary(max_size=64)),
        st.just(value()),
    )


@dataclass(frozen=True)
class Draw:
    """One example's inputs."""

    alarm: str
    downtime: str
    device: str
    tag: str
    text: str
    n: int
    x: float
    value: telemetry_pb2.TagValue


IMPRECISE = (
    grpc.StatusCode.INTERNAL,  # an unhandled exception
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # the answer lost: a status too long for gRPC
)
GOV, DEV = governance_pb2_grpc.GovernanceServiceStub, device_pb2_grpc.DeviceServiceStub
OEE, ALERT = oee_pb2_grpc.OeeServiceStub, alerting_pb2_grpc.AlertingServiceStub
ERP = erp_pb2_grpc.ErpServiceStub


@dataclass(frozen=True)
class Call:
    """One RPC of one example."""

    stub: Callable[[grpc.aio.Channel], Any]
    method: str
    request: Message
    non_finite: bool = False
    """The request carries NaN or an infinity: INVALID_ARGUMENT is the only answer."""

    async def __call__(self, channel: grpc.aio.Channel) -> Any:
        rpc = getattr(self.stub(channel), self.method)
        return await rpc(self.request, metadata=AS_EVE, timeout=10)


def calls(d: Draw) -> list[Call]:
    """Every RPC that takes text, ids or numbers, with this example's."""
    bad_x = not math.isfinite(d.x)
    v = d.value
    bad_value = v.WhichOneof("kind") == "double_value" and not math.isfinite(v.double_value)
    files = [governance_pb2.ConfigFile(name=d.text or "f.yaml", content=d.text)]
    return [
        Call(GOV, "ApplyConfig", governance_pb2.ApplyConfigRequest(
            files=files, dry_run=True, expected_version=d.n)),
        Call(GOV, "GetConfig", governance_pb2.GetConfigRequest(version=d.n)),
        Call(GOV, "CheckPermission", governance_pb2.CheckPermissionRequest(
            user=d.text, tag_path=d.tag, value=d.x), bad_x),
        Call(DEV, "GetDevice", device_pb2.GetDeviceRequest(name=d.device)),
        Call(DEV, "ReadTags", device_pb2.ReadTagsRequest(device=d.device, tags=[d.tag])),
        Call(DEV, "WriteTag", device_pb2.WriteTagRequest(
            device=d.device, tag=d.tag, value=v, reason=d.text), bad_value),
        Call(OEE, "GetOee", oee_pb2.GetOeeRequest(scope=d.text, shift=d.text)),
        Call(OEE, "ListDowntimes", oee_pb2.ListDowntimesRequest(machine=d.text)),
        Call(OEE, "ClassifyDowntime", oee_pb2.ClassifyDowntimeRequest(
            id=d.downtime, reason=d.text)),
        Call(OEE, "GetLosses", oee_pb2.GetLossesRequest(scope=d.text)),
        Call(ALERT, "Acknowledge", alerting_pb2.AcknowledgeRequest(id=d.alarm, comment=d.text)),
        Call(ALERT, "Shelve", alerting_pb2.ShelveRequest(
            id=d.alarm, duration_seconds=d.x, comment=d.text, one_shot=d.n % 2 == 1), bad_x),
        Call(ALERT, "Unshelve", alerting_pb2.UnshelveRequest(id=d.alarm, comment=d.text)),
        Call(ALERT, "Reset", alerting_pb2.ResetRequest(id=d.alarm, comment=d.text)),
        Call(ALERT, "History", alerting_pb2.HistoryRequest(
            scope_prefix=d.text, limit=d.n % 2**31)),
        Call(ERP, "StartWorkOrder", erp_pb2.StartWorkOrderRequest(erp_id=d.text, machine=d.text)),
        Call(ERP, "Retry", erp_pb2.RetryRequest(idempotency_key=d.text)),
    ]  # fmt: skip


@pytest.fixture
async def hub(bus: Bus, nats_url: str, tmp_path: Path) -> AsyncIterator[tuple[Runner, str]]:
    """The hub, its device polling, the alarm raised and a downtime episode open."""
    MemoryDriver.devices[ENDPOINT] = MemoryDevice(
        values={"st": 3, "t": 90.0, "sp": 0.0, "c": 0, "mode": "manual"}
    )
    await put_config(bus, CONFIG)
    services = [GovernanceService, DeviceService, OeeService, AlertingService, ErpService]
    async with hosted(services, nats_url=nats_url, data_dir=tmp_path) as runner:
        alerting, device = runner.services["alerting"], runner.services["device"]
        assert isinstance(alerting, AlertingService) and isinstance(device, DeviceService)
        await wait_until(lambda: all(s.config_version == 1 for s in runner.services.values()))
        await wait_until(lambda: "plc" in device.runners and device.runners["plc"].counters.polls)
        async with operator_channel(runner) as channel:
            # published again now that every service follows the config (deadband held them)
            await device_pb2_grpc.DeviceServiceStub(channel).ReadTags(
                device_pb2.ReadTagsRequest(device="plc")
            )
            await wait_until(lambda: ALARM in alerting.alarms and alerting.alarms[ALARM].active)
            stub = oee_pb2_grpc.OeeServiceStub(channel)

            async def episode() -> str:
                reply = await stub.ListDowntimes(oee_pb2.ListDowntimesRequest(machine=MACHINE))
                return reply.downtimes[0].id if reply.downtimes else ""

            downtime = await wait_until(episode, message="a downtime episode of m1")
        yield runner, downtime


async def still_working(channel: grpc.aio.Channel, downtime: str) -> None:
    """Every service still answers and acts."""
    alarms = await alerting_pb2_grpc.AlertingServiceStub(channel).ListAlarms(
        alerting_pb2.ListAlarmsRequest(include_normal=True)
    )
    assert ALARM in [a.id for a in alarms.alarms]
    device = device_pb2_grpc.DeviceServiceStub(channel)
    written = await device.WriteTag(
        device_pb2.WriteTagRequest(
            device="plc", tag="setpoint", value=telemetry_pb2.TagValue(double_value=42.0)
        ),
        metadata=AS_EVE,
    )
    assert written.read_back.value.double_value == 42.0
    classified = await oee_pb2_grpc.OeeServiceStub(channel).ClassifyDowntime(
        oee_pb2.ClassifyDowntimeRequest(id=downtime, reason="jam"), metadata=AS_EVE
    )
    assert classified.downtime.reason == "jam"
    config = await governance_pb2_grpc.GovernanceServiceStub(channel).GetConfig(
        governance_pb2.GetConfigRequest()
    )
    assert config.meta.version == 1 and "hot" in config.yaml


async def test_random_requests_get_precise_answers(hub: tuple[Runner, str]) -> None:
    runner, downtime = hub
    examples: list[Draw] = []

    @settings(max_examples=40, deadline=None, database=None)
    @given(
        d=st.builds(
            Draw,
            alarm=texts(ALARM),
            downtime=texts(downtime),
            device=texts("plc"),
            tag=texts("setpoint", "count", "mode", "temp", f"{MACHINE}/setpoint"),
            text=texts(),
            n=st.integers(0, 2**32),
            x=numbers,
            value=tag_values(),
        )
    )
    def collect(d: Draw) -> None:
        examples.append(d)

    collect()  # hypothesis chooses the inputs; the calls below run on this event loop
    failures: list[str] = []
    async with operator_channel(runner) as channel:
        for d in examples:
            for call in calls(d):
                what = f"{call.method} with {d!r:.300}"
                try:
                    await call(channel)
                except grpc.aio.AioRpcError as err:
                    code = err.code()
                    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                        failures.append(f"{what} hung")
                    elif code in IMPRECISE:
                        failures.append(f"{what}: {code} {err.details()!r:.300}")
                    elif call.non_finite and code != grpc.StatusCode.INVALID_ARGUMENT:
                        failures.append(f"{what} (non-finite) answered {code}")
                else:
                    if call.non_finite:
                        failures.append(f"{what} accepted a non-finite number")
        await still_working(channel, downtime)
    assert not failures, failures[:5]
