"""Past ``max_unacked`` samples in flight, publishing waits for the stream's ack of the
oldest cycle instead of piling cycles up in memory; an ack that never comes still sends
everything to the spool in order when it is due."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from plantbus.device.publisher import TelemetryPublisher
from plantbus.device.spool import Spool
from plantbus.device.wire import Record, TagCodec, batches, timestamps
from plantbus.sdk.driver import Quality
from plantbus.testing.waiting import wait_until
from plantbus.v1 import device_pb2


class _Stream:
    """A connection and JetStream whose acks the test gives (or withholds)."""

    def __init__(self) -> None:
        self.acks: list[asyncio.Future[Any]] = []
        self.sent: list[bytes] = []
        self.max_payload = 1_000_000
        self.is_connected = True

    async def _send_command(self, data: bytes) -> None:
        self.sent.append(data)

    async def publish_async(self, subject: str, payload: bytes, **_: Any) -> asyncio.Future[Any]:
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


class _Bus:
    def __init__(self, stream: _Stream) -> None:
        self.nc = self.js = stream

    @property
    def connected(self) -> bool:
        return True


_TIMES = timestamps(b"", b"")


def cycle(n: int, start: int) -> list[Record]:
    """A cycle of ``n`` samples of one device, numbered ``start``."""
    return [
        TagCodec(f"s/a/l/m/t{i}", "", "plc", "e").record(i, Quality.GOOD, "", start, _TIMES)
        for i in range(n)
    ]


def stored(*cycles: list[Record]) -> list[str]:
    """The keys of the messages the stream stores for ``cycles``, in order."""
    return [key for records in cycles for key, _ in batches(records, 1_000_000)]


async def test_a_cycle_waits_for_the_oldest_ack_once_the_bound_is_reached(
    tmp_path: Path,
) -> None:
    stream = _Stream()
    publisher = TelemetryPublisher(_Bus(stream), Spool(tmp_path), max_unacked=100)  # type: ignore[arg-type]
    devices = [device_pb2.DeviceCounters() for _ in range(3)]  # not held by their own acks
    await publisher.publish(cycle(60, 1), devices[0])
    await publisher.publish(cycle(60, 2), devices[1])  # 60 in flight: below the bound
    third = asyncio.create_task(publisher.publish(cycle(60, 3), devices[2]))
    await asyncio.sleep(0.05)
    assert not third.done() and len(stream.acks) == 2, "the third cycle was sent regardless"
    stream.acks[0].set_result(None)
    await asyncio.wait_for(third, 1)
    assert len(stream.acks) == 3 and publisher.published == 180 and len(publisher.spool) == 0


async def test_an_ack_that_never_comes_spools_in_order_when_due(tmp_path: Path) -> None:
    stream = _Stream()
    spool = Spool(tmp_path)
    publisher = TelemetryPublisher(_Bus(stream), spool, ack_timeout_s=0.2, max_unacked=50)  # type: ignore[arg-type]
    counters = device_pb2.DeviceCounters()
    await publisher.publish(cycle(60, 1), counters)
    await asyncio.wait_for(publisher.publish(cycle(60, 2), counters), 2)
    assert len(stream.acks) == 1, "sent while the stream was behind"
    keys = [key for key, _ in spool.oldest_segment()]
    assert keys == stored(cycle(60, 1), cycle(60, 2))
    assert counters.samples_lost == 0


async def test_a_device_cycle_waits_for_the_ack_of_its_previous_one_not_for_others(
    tmp_path: Path,
) -> None:
    stream = _Stream()
    publisher = TelemetryPublisher(_Bus(stream), Spool(tmp_path))  # type: ignore[arg-type]
    m1, m2 = device_pb2.DeviceCounters(), device_pb2.DeviceCounters()
    await publisher.publish(cycle(3, 1), m1)
    await asyncio.wait_for(publisher.publish(cycle(3, 1), m2), 1)  # m2 is not held by m1
    second = asyncio.create_task(publisher.publish(cycle(3, 2), m1))
    await asyncio.sleep(0.05)
    assert not second.done() and len(stream.acks) == 2, "m1's next cycle went out unacked"
    stream.acks[0].set_result(None)
    await asyncio.wait_for(second, 1)
    assert len(stream.acks) == 3 and len(publisher.spool) == 0


async def test_a_failed_ack_sends_its_cycle_and_the_next_to_the_spool_in_order(
    tmp_path: Path,
) -> None:
    """The stream had no leader: the first cycle's ack fails while another device's
    later cycle is in flight; the next cycle of the first device follows it to the spool
    instead of reaching the stream before it."""
    stream = _Stream()
    spool = Spool(tmp_path)
    publisher = TelemetryPublisher(_Bus(stream), spool)  # type: ignore[arg-type]
    m1, m2 = device_pb2.DeviceCounters(), device_pb2.DeviceCounters()
    await publisher.publish(cycle(2, 1), m2)
    await publisher.publish(cycle(2, 10), m1)
    stream.acks[0].set_result(None)
    stream.acks[1].set_exception(TimeoutError("no leader"))
    await asyncio.wait_for(publisher.publish(cycle(2, 11), m1), 1)
    assert len(stream.acks) == 2, "sent after a failed cycle"
    keys = [key for key, _ in spool.oldest_segment()]
    assert keys == stored(cycle(2, 10), cycle(2, 11))


async def test_a_device_waits_for_room_before_it_reads_while_the_stream_is_behind(
    tmp_path: Path,
) -> None:
    """What a device reads while others' cycles fill the bound would wait in memory, read
    and encoded (1,000 devices polled at once held 30,000 samples so): it is not read."""
    stream = _Stream()
    publisher = TelemetryPublisher(_Bus(stream), Spool(tmp_path), max_unacked=100)  # type: ignore[arg-type]
    m1, m2, m3 = (device_pb2.DeviceCounters() for _ in range(3))
    await publisher.publish(cycle(60, 1), m1)  # 60 in flight
    read: list[str] = []

    async def poll(counters: device_pb2.DeviceCounters, name: str) -> None:
        async with publisher.room(counters, 60):
            read.append(name)
            await publisher.publish(cycle(60, len(read) + 1), counters)

    await asyncio.wait_for(poll(m2, "m2"), 1)  # 60 in flight and none reserved: room
    third = asyncio.create_task(poll(m3, "m3"))
    await asyncio.sleep(0.05)
    assert read == ["m2"], "m3 was read while 120 samples were unacknowledged"
    stream.acks[0].set_result(None)
    stream.acks[1].set_result(None)
    await asyncio.wait_for(third, 1)
    assert read == ["m2", "m3"] and len(stream.acks) == 3 and len(publisher.spool) == 0


async def test_devices_reading_now_count_against_the_bound_until_their_block_ends(
    tmp_path: Path,
) -> None:
    """Nothing in flight yet (a config just applied): devices reading already hold room,
    so the next waits until one of them is done (here: its read failed, nothing sent)."""
    stream = _Stream()
    publisher = TelemetryPublisher(_Bus(stream), Spool(tmp_path), max_unacked=100)  # type: ignore[arg-type]
    devices = [device_pb2.DeviceCounters() for _ in range(3)]
    done = asyncio.Event()
    entered: list[int] = []

    async def read(i: int) -> None:
        async with publisher.room(devices[i], 60):
            entered.append(i)
            await done.wait()

    tasks = [asyncio.create_task(read(i)) for i in range(3)]
    await asyncio.sleep(0.05)
    assert entered == [0, 1], "a third device read while 120 samples were reserved"
    done.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert entered == [0, 1, 2] and publisher._reserved == 0


async def test_devices_waiting_for_room_get_it_in_the_order_they_asked(tmp_path: Path) -> None:
    stream = _Stream()
    publisher = TelemetryPublisher(_Bus(stream), Spool(tmp_path), max_unacked=100)  # type: ignore[arg-type]
    first = device_pb2.DeviceCounters()
    await publisher.publish(cycle(100, 1), first)  # full
    order: list[int] = []

    async def poll(i: int) -> None:
        counters = device_pb2.DeviceCounters()
        async with publisher.room(counters, 100):
            order.append(i)
            await publisher.publish(cycle(100, i), counters)

    waiting = []
    for i in range(2, 6):
        waiting.append(asyncio.create_task(poll(i)))
        await asyncio.sleep(0.01)  # they ask in this order
    for n in range(4):  # one cycle fits at a time: each ack lets the next device in
        stream.acks[n].set_result(None)
        await wait_until(lambda n=n: len(stream.acks) == n + 2, timeout=1)  # type: ignore[misc]
    await asyncio.wait_for(asyncio.gather(*waiting), 1)
    assert order == [2, 3, 4, 5]
