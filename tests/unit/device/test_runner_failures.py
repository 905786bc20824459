"""A device runner's failure path survives a publisher that raises; devices are polled on
phases spread over their interval."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from plantbus.config.devices import Device, Tag
from plantbus.device.runtime import Backoff, DeviceRunner
from plantbus.device.wire import Record
from plantbus.testing.memory_driver import MemoryDevice, MemoryDriver, MemorySettings
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2


class _RaisingPublisher:
    """Every publish fails, as one whose disk and bus were both gone would."""

    async def publish(self, records: list[Record], counters: device_pb2.DeviceCounters) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    @asynccontextmanager
    async def room(self, counters: device_pb2.DeviceCounters, samples: int) -> AsyncIterator[None]:
        yield


async def test_a_publisher_that_raises_does_not_end_the_poll_task() -> None:
    endpoint = "memory://runner-raising-publisher"
    MemoryDriver.devices[endpoint] = MemoryDevice(down=True)
    device = Device(
        name="plc",
        driver="memory",
        endpoint=endpoint,
        machine="s/a/l/m",
        poll_interval_s=0.01,
        tags=[Tag(name="count", address="c", data_type="uint32")],
    )
    runner = DeviceRunner(
        device,
        MemoryDriver(endpoint, MemorySettings()),
        _RaisingPublisher(),  # type: ignore[arg-type]
        lambda _device, _samples: None,
        Backoff(initial_s=0.01, max_s=0.01, demote_after=1000),
    )
    runner.start()
    try:
        # every failure publishes bad quality, which raises: the task still retries
        await wait_until(lambda: runner.counters.poll_errors >= 3, timeout=5)
        MemoryDriver.devices[endpoint].down = False
        await wait_until(lambda: runner.counters.polls >= 3, timeout=5, message="polls again")
    finally:
        await runner.stop()
        MemoryDriver.devices.pop(endpoint)


def runner_named(name: str) -> DeviceRunner:
    device = Device(
        name=name, driver="memory", endpoint=f"memory://{name}", machine="s/a/l/m", tags=[]
    )
    driver = MemoryDriver(device.endpoint, MemorySettings())
    return DeviceRunner(device, driver, _RaisingPublisher(), lambda _d, _s: None)  # type: ignore[arg-type]


def test_devices_are_polled_on_phases_spread_over_the_interval() -> None:
    phases = [runner_named(f"plc-{i}")._phase(1.0) for i in range(200)]
    assert all(0 <= p < 1.0 for p in phases)
    assert phases == [runner_named(f"plc-{i}")._phase(1.0) for i in range(200)], "stable"
    tenths = {int(p * 10) for p in phases}
    assert tenths == set(range(10)), "200 devices leave no tenth of the second unused"


class _FullPublisher:
    """No room until the test gives it; records what was published."""

    def __init__(self) -> None:
        self.free = asyncio.Event()
        self.published: list[Record] = []

    async def publish(
        self, records: list[Record], counters: device_pb2.DeviceCounters, trace: str = ""
    ) -> None:
        self.published.extend(records)

    @asynccontextmanager
    async def room(self, counters: device_pb2.DeviceCounters, samples: int) -> AsyncIterator[None]:
        await self.free.wait()
        yield


async def test_a_device_is_not_read_until_the_publisher_has_room() -> None:
    endpoint = "memory://runner-full-publisher"
    MemoryDriver.devices[endpoint] = MemoryDevice(values={"c": 1})
    device = Device(
        name="plc",
        driver="memory",
        endpoint=endpoint,
        machine="s/a/l/m",
        tags=[Tag(name="count", address="c", data_type="uint32")],
    )
    publisher = _FullPublisher()
    runner = DeviceRunner(
        device,
        MemoryDriver(endpoint, MemorySettings()),
        publisher,  # type: ignore[arg-type]
        lambda _d, _s: None,
    )
    runner.start()
    try:
        await wait_until(lambda: runner.state == device_pb2.CONNECTION_STATE_CONNECTED, timeout=5)
        await asyncio.sleep(0.05)
        assert MemoryDriver.devices[endpoint].reads == 0, "read while the publisher was full"
        publisher.free.set()
        await wait_until(lambda: publisher.published, timeout=5, message="read once there was room")
    finally:
        await runner.stop()
        MemoryDriver.devices.pop(endpoint)
