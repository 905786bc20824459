"""The device service with a real nats-server and the governance service: telemetry,
quality on failure and recovery, policy-checked audited writes, the spool across a NATS
restart, and a hanging driver isolated from the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from nats.aio.msg import Msg

from plantbus.device.service import DeviceService
from plantbus.governance.service import GovernanceService
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.kit.runner import Runner
from plantbus.testing.harness import hosted, operator_channel
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2, device_pb2_grpc, service_pb2, telemetry_pb2

PLANT = """\
sites: [{name: s, areas: [{name: a, lines: [{name: l, machines: [{name: m1}, {name: m2}]}]}]}]
roles: [{name: engineer, permissions: [tag.write]}]
users: [{name: eve, roles: [engineer]}, {name: mallory}]
write_policies: [{name: speed, roles: [engineer], tags: [s/a/l/m1/speed], max: 100}]
"""


def devices(endpoint_suffix: str, interval: float = 0.1) -> str:
    return f"""\
devices:
  - name: plc1
    driver: memory
    endpoint: memory://plc1-{endpoint_suffix}
    machine: s/a/l/m1
    poll_interval_s: {interval}
    settings: {{changing: true}}
    tags:
      - {{name: count, address: c, data_type: uint32}}
      - {{name: speed, address: s, data_type: uint16, access: read_write}}
      - {{name: ghost, address: missing1, data_type: uint16}}
  - name: plc2
    driver: memory
    endpoint: memory://plc2-{endpoint_suffix}
    machine: s/a/l/m2
    poll_interval_s: {interval}
    tags: [{{name: temp, address: t, data_type: float32}}]
"""


class Samples:
    """Collects telemetry by tag path."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[telemetry_pb2.TagSample]] = {}

    async def __call__(self, subject: str, msg: Message, raw: Msg) -> None:
        assert isinstance(msg, telemetry_pb2.TagSampleBatch)
        for s in msg.samples:
            self.by_path.setdefault(s.path, []).append(s)

    def last(self, path: str) -> telemetry_pb2.TagSample | None:
        items = self.by_path.get(path)
        return items[-1] if items else None


@pytest.fixture
async def hub(
    nats_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Runner, Bus, Samples, str]]:
    suffix = request.node.name
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "plant.yaml").write_text(PLANT)
    # the spool test polls fast, so samples are in flight at the moment NATS dies
    interval = 0.005 if "spool" in suffix else 0.1
    (plant / "devices.yaml").write_text(devices(suffix, interval))
    samples = Samples()
    bus = await connect(NatsSettings(url=nats_url))
    await bus.subscribe("plantbus.v1.telemetry.>", samples)
    options = {"governance": {"bootstrap_config": str(plant)}}
    async with hosted(
        [GovernanceService, DeviceService], nats_url=nats_url, data_dir=tmp_path, options=options
    ) as runner:
        yield runner, bus, samples, suffix
    await bus.close()


async def test_telemetry_flows_with_bad_quality_for_a_bad_address(hub: Any) -> None:
    _runner, _bus, samples, _ = hub
    await wait_until(lambda: len(samples.by_path.get("s/a/l/m1/count", [])) >= 3)
    counts = samples.by_path["s/a/l/m1/count"]
    assert [s.sequence for s in counts[:3]] == [1, 2, 3]
    assert counts[0].quality == telemetry_pb2.QUALITY_GOOD
    ghost = await wait_until(lambda: samples.last("s/a/l/m1/ghost"))
    assert ghost.quality == telemetry_pb2.QUALITY_BAD and "missing1" in ghost.quality_reason


async def test_device_failure_marks_bad_and_recovers(hub: Any) -> None:
    runner, _bus, samples, suffix = hub
    device = MemoryDriver.devices.setdefault(f"memory://plc2-{suffix}", MemoryDevice())
    await wait_until(lambda: samples.last("s/a/l/m2/temp"))
    device.down = True
    bad = await wait_until(
        lambda: (
            (s := samples.last("s/a/l/m2/temp")) and s.quality == telemetry_pb2.QUALITY_BAD and s
        ),
        timeout=5,
    )
    assert "simulated" in bad.quality_reason
    count_before = len(samples.by_path["s/a/l/m1/count"])
    await wait_until(
        lambda: len(samples.by_path["s/a/l/m1/count"]) > count_before + 3,
        message="healthy device keeps publishing",
    )
    device.down = False
    await wait_until(
        lambda: samples.last("s/a/l/m2/temp").quality == telemetry_pb2.QUALITY_GOOD,
        timeout=10,
        message="recovered",
    )
    async with operator_channel(runner) as chan:
        info = await device_pb2_grpc.DeviceServiceStub(chan).GetDevice(
            device_pb2.GetDeviceRequest(name="plc2")
        )
    assert info.device.counters.reconnects == 1
    assert info.device.state == device_pb2.CONNECTION_STATE_CONNECTED


async def test_writes_are_policy_checked_audited_and_read_back(hub: Any) -> None:
    runner, bus, _, _ = hub
    audits: asyncio.Queue[service_pb2.AuditRecord] = asyncio.Queue()

    async def on_audit(subject: str, msg: Message, raw: Msg) -> None:
        assert isinstance(msg, service_pb2.AuditRecord)
        await audits.put(msg)

    await bus.subscribe("plantbus.v1.audit.device", on_audit)
    async with operator_channel(runner) as chan:
        stub = device_pb2_grpc.DeviceServiceStub(chan)

        async def write(user: str, tag: str, value: int) -> device_pb2.WriteTagResponse:
            return await stub.WriteTag(
                device_pb2.WriteTagRequest(
                    device="plc1", tag=tag, value=telemetry_pb2.TagValue(int_value=value)
                ),
                metadata=(("x-plantbus-user", user),),
            )

        ok = await write("eve", "speed", 42)
        assert ok.policy == "speed" and ok.read_back.value.int_value in (42, 43)
        for user, tag, value, why in [
            ("mallory", "speed", 42, "no role of user 'mallory' grants 'tag.write'"),
            ("eve", "speed", 500, "outside the limits"),
            ("eve", "count", 1, "read-only"),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await write(user, tag, value)
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert why in (info.value.details() or "")
    records = [await asyncio.wait_for(audits.get(), 5) for _ in range(5)]
    assert [(r.actor, r.outcome) for r in records] == [
        ("eve", service_pb2.AUDIT_OUTCOME_ATTEMPT),
        ("eve", service_pb2.AUDIT_OUTCOME_SUCCESS),
        ("mallory", service_pb2.AUDIT_OUTCOME_DENIED),
        ("eve", service_pb2.AUDIT_OUTCOME_DENIED),
        ("eve", service_pb2.AUDIT_OUTCOME_DENIED),
    ]
    attempt, done = records[0], records[1]
    assert attempt.attributes["new"] == "42" and "read_back" not in attempt.attributes
    assert done.attributes["new"] == "42" and done.attributes["old"] != ""
    assert done.attributes["read_back"] in ("42", "43")
    assert done.source.startswith("ipv4:127.0.0.1:")  # the caller's address
    first = records[0].sequence
    assert [r.sequence for r in records] == list(range(first, first + 5))  # one chain
    assert {r.attributes["via"] for r in records} == {"local-operator"}


async def test_spool_keeps_every_sample_across_a_nats_restart(
    nats_server: NatsServer, hub: Any
) -> None:
    runner, bus, samples, _ = hub
    await wait_until(lambda: len(samples.by_path.get("s/a/l/m1/count", [])) >= 2)
    service = runner.services["device"]
    assert isinstance(service, DeviceService)
    nats_server.kill()
    await wait_until(lambda: len(service.spool) > 10, message="samples spooled while NATS is down")
    await asyncio.to_thread(nats_server.restart)
    await wait_until(lambda: len(service.spool) == 0, timeout=30, message="spool replayed")
    # after the replay, live samples flow again; read the stream up to a live one
    target = await wait_until(
        lambda: (last := samples.last("s/a/l/m1/count")) and last.sequence > 12 and last.sequence,
        timeout=20,
        message="live samples after the replay",
    )
    sub = await bus.js.subscribe("plantbus.v1.cycle.s.a.l.m1.*", ordered_consumer=True)
    seqs: list[int] = []
    while not seqs or seqs[-1] < target:
        msg = await sub.next_msg(timeout=10)
        batch = telemetry_pb2.TagSampleBatch.FromString(msg.data)
        seqs += [s.sequence for s in batch.samples if s.path == "s/a/l/m1/count"]
    await sub.unsubscribe()
    assert seqs == list(range(1, target + 1)), seqs  # nothing lost, order kept
