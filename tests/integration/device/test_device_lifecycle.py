"""The device service against a real nats-server: config changes start, stop and restart
devices; a missing driver is reported while the others run; a failing device is demoted
and promoted back; a real TCP device (the template linetag driver) recovers after its
server restarts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message
from nats.aio.msg import Msg
from plantbus_linetag.server import LineTagServer

from plantbus.config import PlantConfig
from plantbus.device.service import DeviceService
from plantbus.device.servicer import DeviceServicer
from plantbus.kit.bus import Bus
from plantbus.kit.service import ServiceContext
from plantbus.plugins import PluginRecord
from plantbus.testing.config import put_config
from plantbus.testing.harness import as_operator, hosted
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver, MemoryPushDriver
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2, telemetry_pb2


class Collected:
    """Telemetry samples by path, as received from the bus."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[telemetry_pb2.TagSample]] = {}

    async def __call__(self, subject: str, msg: Message, raw: Msg) -> None:
        assert isinstance(msg, telemetry_pb2.TagSampleBatch)
        for s in msg.samples:
            self.by_path.setdefault(s.path, []).append(s)

    def count(self, path: str) -> int:
        return len(self.by_path.get(path, []))

    def last(self, path: str) -> telemetry_pb2.TagSample | None:
        items = self.by_path.get(path)
        return items[-1] if items else None

    def last_if(self, path: str, quality: int) -> telemetry_pb2.TagSample | None:
        sample = self.last(path)
        return sample if sample is not None and sample.quality == quality else None


def memory_device(name: str, machine: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "driver": "memory",
        "endpoint": f"memory://{name}-{uuid.uuid4().hex}",
        "machine": machine,
        "poll_interval_s": 0.05,
        "settings": {"changing": True},
        "tags": [{"name": "count", "address": "c", "data_type": "uint32"}],
        **extra,
    }


async def _no_audit(**_: Any) -> None:
    return None


@pytest.fixture
async def service(bus: Bus, tmp_path: Path) -> AsyncIterator[tuple[DeviceService, Collected]]:
    collected = Collected()
    await bus.subscribe("plantbus.v1.telemetry.>", collected)
    options = {
        "backoff": {"initial_s": 0.1, "max_s": 0.2, "demote_after": 3, "demoted_s": 1.0},
        "call_timeout_s": 0.5,
    }
    ctx = ServiceContext("device", "i1", bus, tmp_path, _no_audit, options)
    svc = DeviceService(ctx)
    await svc.start()
    yield svc, collected
    await svc.stop()


async def get_device(svc: DeviceService, name: str) -> device_pb2.DeviceInfo:
    with as_operator():
        reply = await DeviceServicer(svc).GetDevice(device_pb2.GetDeviceRequest(name=name), None)
    return reply.device


async def test_config_changes_start_stop_restart_and_report_missing_driver(
    service: tuple[DeviceService, Collected],
) -> None:
    svc, collected = service
    a = memory_device("a", "s/a/l/m1")
    elsewhere = memory_device("other", "s/a/l/m3", instance="i2")
    await svc.apply_config(PlantConfig.model_validate({"devices": [a, elsewhere]}), 1)
    assert set(svc.runners) == {"a"}, "a device assigned to another instance does not run here"
    await wait_until(lambda: collected.count("s/a/l/m1/count") >= 2)

    changed = {**a, "poll_interval_s": 0.02}
    b = memory_device("b", "s/a/l/m2")
    broken = {**memory_device("c", "s/a/l/m3"), "driver": "nosuch"}
    old_runner = svc.runners["a"]
    await svc.apply_config(PlantConfig.model_validate({"devices": [changed, b, broken]}), 2)
    assert svc.runners["a"] is not old_runner and svc.runners["a"].device.poll_interval_s == 0.02
    await wait_until(lambda: collected.count("s/a/l/m2/count") >= 2, message="b publishes")
    info = await get_device(svc, "c")
    assert info.state == device_pb2.CONNECTION_STATE_FAILED
    assert "nosuch" in info.last_error and "no such plugin" in info.last_error

    await svc.apply_config(PlantConfig.model_validate({"devices": [b]}), 3)
    assert set(svc.runners) == {"b"} and not svc.failed
    b_now = collected.count("s/a/l/m2/count")
    # b's later samples arrive after anything a published before it stopped (one connection)
    await wait_until(lambda: collected.count("s/a/l/m2/count") >= b_now + 2)
    stopped_at = collected.count("s/a/l/m1/count")
    await wait_until(lambda: collected.count("s/a/l/m2/count") >= b_now + 8)
    assert collected.count("s/a/l/m1/count") == stopped_at, "a removed device stops publishing"


async def test_changed_devices_stop_together(
    service: tuple[DeviceService, Collected], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply that changes many devices stops them at once: one after another, each
    stop's wait added up (an apply of 1,000 changed devices took minutes)."""
    svc, _ = service
    devices = [memory_device(f"d{i}", f"s/a/l/m{i}") for i in range(8)]
    await svc.apply_config(PlantConfig.model_validate({"devices": devices}), 1)
    await wait_until(lambda: all(r.counters.polls for r in svc.runners.values()))

    async def slow_close(self: MemoryDriver) -> None:
        await asyncio.sleep(0.25)

    monkeypatch.setattr(MemoryDriver, "close", slow_close)
    changed = [{**d, "poll_interval_s": 0.02} for d in devices]
    started = time.monotonic()
    await svc.apply_config(PlantConfig.model_validate({"devices": changed}), 2)
    assert time.monotonic() - started < 1.0, "8 stops of 0.25 s each took their sum"
    assert {r.device.poll_interval_s for r in svc.runners.values()} == {0.02}


async def test_failing_device_is_demoted_then_promoted_and_never_delays_others(
    service: tuple[DeviceService, Collected],
) -> None:
    svc, collected = service
    flaky, healthy = memory_device("flaky", "s/a/l/m1"), memory_device("ok", "s/a/l/m2")
    state = MemoryDriver.devices.setdefault(flaky["endpoint"], MemoryDevice())
    state.down = True
    await svc.apply_config(PlantConfig.model_validate({"devices": [flaky, healthy]}), 1)
    bad = await wait_until(lambda: collected.last("s/a/l/m1/count"))
    assert bad.quality == telemetry_pb2.QUALITY_BAD and "refused" in bad.quality_reason
    await wait_until(
        lambda: svc.runners["flaky"].state == device_pb2.CONNECTION_STATE_DEMOTED, timeout=5
    )
    info = await get_device(svc, "flaky")
    assert info.counters.poll_errors >= 3 and "refused" in info.last_error
    healthy_before = collected.count("s/a/l/m2/count")
    await wait_until(
        lambda: collected.count("s/a/l/m2/count") >= healthy_before + 5,
        message="the healthy device keeps its schedule while the other is demoted",
    )
    state.down = False
    await wait_until(
        lambda: svc.runners["flaky"].state == device_pb2.CONNECTION_STATE_CONNECTED,
        timeout=5,
        message="promoted back once it answers",
    )
    good = await wait_until(lambda: collected.last_if("s/a/l/m1/count", telemetry_pb2.QUALITY_GOOD))
    assert good.value.int_value > 0


async def test_tcp_device_goes_bad_on_server_restart_and_recovers(
    service: tuple[DeviceService, Collected],
) -> None:
    svc, collected = service
    server = LineTagServer({"speed": 1200, "temp": 21.5})
    await server.start()
    device = {
        "name": "lt",
        "driver": "linetag",
        "endpoint": server.endpoint,
        "machine": "s/a/l/m1",
        "poll_interval_s": 0.05,
        "tags": [
            {"name": "speed", "address": "speed", "data_type": "int32", "scale": 0.1},
            {"name": "temp", "address": "temp", "data_type": "float64", "unit": "degC"},
        ],
    }
    await svc.apply_config(PlantConfig.model_validate({"devices": [device]}), 1)
    speed = await wait_until(lambda: collected.last("s/a/l/m1/speed"))
    assert speed.value.double_value == pytest.approx(120.0), "raw 1200 scaled by 0.1"
    assert collected.last("s/a/l/m1/temp").unit == "degC"  # type: ignore[union-attr]
    await server.stop()
    bad = await wait_until(lambda: collected.last_if("s/a/l/m1/speed", telemetry_pb2.QUALITY_BAD))
    assert "connection" in bad.quality_reason
    server.values["speed"] = 1300
    await server.start()
    back = await wait_until(
        lambda: collected.last_if("s/a/l/m1/speed", telemetry_pb2.QUALITY_GOOD),
        timeout=15,
    )
    assert back.value.double_value == pytest.approx(130.0)
    info = await get_device(svc, "lt")
    assert info.counters.reconnects >= 1 and info.state == device_pb2.CONNECTION_STATE_CONNECTED
    await svc.stop()
    await server.stop()


async def test_deadband_and_refresh_on_the_bus(service: tuple[DeviceService, Collected]) -> None:
    svc, collected = service
    device = {
        **memory_device("db", "s/a/l/m1", refresh_s=1.0),
        "settings": {},
        "tags": [{"name": "temp", "address": "t", "data_type": "float64", "deadband": 0.5}],
    }
    values = MemoryDriver.devices.setdefault(device["endpoint"], MemoryDevice()).values
    values["t"] = 20.0
    await svc.apply_config(PlantConfig.model_validate({"devices": [device]}), 1)
    await wait_until(lambda: collected.count("s/a/l/m1/temp") == 1)
    values["t"] = 20.3  # inside the deadband: held back
    polls = svc.runners["db"].counters.polls
    await wait_until(lambda: svc.runners["db"].counters.polls >= polls + 4)
    assert collected.count("s/a/l/m1/temp") == 1
    values["t"] = 20.8
    moved = await wait_until(
        lambda: collected.count("s/a/l/m1/temp") == 2 and collected.last("s/a/l/m1/temp")
    )
    assert moved.value.double_value == 20.8 and moved.sequence == 2
    refreshed = await wait_until(
        lambda: collected.count("s/a/l/m1/temp") == 3 and collected.last("s/a/l/m1/temp"),
        timeout=5,
        message="unchanged value republished after refresh_s",
    )
    assert refreshed.value.double_value == 20.8


async def test_replicas_share_devices_and_take_over_when_one_stops(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    config = PlantConfig.model_validate(
        {"devices": [memory_device(f"d{i}", "s/a/l/m1") for i in range(8)]}
    )
    await put_config(bus, config)
    options = {"device": {"membership_interval_s": 0.2}}

    def host(instance: str) -> Any:
        return hosted(
            [DeviceService],
            nats_url=nats_url,
            data_dir=tmp_path / instance,
            options=options,
            instance=instance,
            heartbeat_interval_s=0.2,
        )

    async with host("a") as a:
        first = a.services["device"]
        assert isinstance(first, DeviceService)
        async with host("b") as b:
            second = b.services["device"]
            assert isinstance(second, DeviceService)

            def split() -> bool:
                mine, theirs = set(first.runners), set(second.runners)
                return bool(mine and theirs and not mine & theirs and len(mine | theirs) == 8)

            await wait_until(split, message="both replicas run a disjoint share of all devices")
        await wait_until(lambda: len(first.runners) == 8, message="a took over b's devices")


async def test_push_driver_publishes_changes_without_polling(
    service: tuple[DeviceService, Collected],
) -> None:
    svc, collected = service
    svc.drivers.records["memory-push"] = PluginRecord(
        "plantbus.drivers", "memory-push", cls=MemoryPushDriver
    )
    device = {
        **memory_device("push", "s/a/l/m1", refresh_s=30.0),
        "driver": "memory-push",
        "settings": {},
    }
    state = MemoryDriver.devices.setdefault(device["endpoint"], MemoryDevice())
    await svc.apply_config(PlantConfig.model_validate({"devices": [device]}), 1)
    first = await wait_until(lambda: collected.last("s/a/l/m1/count"))
    assert first.value.int_value == 0, "the first full read publishes the current value"
    await wait_until(lambda: state.subscribers)
    for value in (5, 6, 7):
        state.push("c", value)
    await wait_until(lambda: collected.count("s/a/l/m1/count") == 4)
    assert [s.value.int_value for s in collected.by_path["s/a/l/m1/count"]] == [0, 5, 6, 7]
    assert svc.runners["push"].counters.polls == 1, "pushed, not polled"


async def test_a_hanging_device_goes_bad_and_never_delays_the_others(
    service: tuple[DeviceService, Collected],
) -> None:
    svc, collected = service
    hung, healthy = memory_device("hung", "s/a/l/m1"), memory_device("fine", "s/a/l/m2")
    MemoryDriver.devices.setdefault(hung["endpoint"], MemoryDevice()).hang_s = 30.0
    await svc.apply_config(PlantConfig.model_validate({"devices": [hung, healthy]}), 1)
    bad = await wait_until(lambda: collected.last_if("s/a/l/m1/count", telemetry_pb2.QUALITY_BAD))
    assert "read took longer than 0.5s" in bad.quality_reason
    assert collected.count("s/a/l/m2/count") >= 3, "the healthy device polled meanwhile"
    assert svc.runners["hung"].state in {
        device_pb2.CONNECTION_STATE_RETRYING,
        device_pb2.CONNECTION_STATE_CONNECTING,
    }
