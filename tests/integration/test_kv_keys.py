"""Listing a KV bucket's keys (kit/kv_keys.py) while other writers keep putting to it,
which is when nats-py's own ``keys()`` never finishes: the heartbeat bucket of a busy hub."""

from __future__ import annotations

import asyncio

from plantbus.kit import kv_keys, streams
from plantbus.kit.bus import Bus


async def test_keys_of_an_empty_bucket_are_none(bus: Bus) -> None:
    kv = await streams.open_bucket(bus, streams.LEASES)
    assert await kv_keys.keys(kv) == []


async def test_keys_are_listed_at_once_while_the_bucket_is_written_without_pause(
    bus: Bus,
) -> None:
    kv = await streams.open_bucket(bus, streams.SERVICES)
    for n in range(5):
        await kv.put(f"svc{n}.local", b"beat")
    await kv.put("gone.local", b"beat")
    await kv.delete("gone.local")

    stop = asyncio.Event()

    async def beat() -> None:
        n = 0
        while not stop.is_set():  # as ten services beating as fast as they can
            await kv.put(f"svc{n % 5}.local", b"beat %d" % n)
            n += 1

    writer = asyncio.create_task(beat())
    try:
        listed = await asyncio.wait_for(kv_keys.keys(kv), 2)
    finally:
        stop.set()  # not cancelled: nats-py may swallow a cancel in the middle of a put
        await writer
    assert {f"svc{n}.local" for n in range(5)} <= set(listed)
    assert set(listed) <= {f"svc{n}.local" for n in range(5)} | {"gone.local"}
