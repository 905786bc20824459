"""Heartbeats across hosts whose clocks disagree: an instance whose clock runs 30 s behind
is live while it beats (freshness is judged by when this process saw its entry change,
never by the sender's clock) and stale once it stops; device assignment follows."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from plantbus.config import PlantConfig
from plantbus.device.assignment import assign
from plantbus.device.service import DeviceService
from plantbus.kit.bus import Bus
from plantbus.kit.heartbeat import MISSED_BEATS, read_heartbeats, services_kv
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import service_pb2

SKEW_S = 30.0
INTERVAL_S = 0.2
STALE_AFTER_S = MISSED_BEATS * 1.0
"""Intervals under a second count as one."""


@dataclass
class Peer:
    """An instance on a host whose clock is 30 s behind, beating every 0.2 s."""

    beats: int = 0
    task: asyncio.Task[None] | None = None

    async def beat_for(self, seconds: float) -> None:
        """Wait until the peer has beaten for ``seconds`` more."""
        target = self.beats + int(seconds / INTERVAL_S) + 1
        await wait_until(lambda: self.beats >= target, timeout=seconds + 5)

    async def stop(self) -> None:
        """Stop beating without retracting (as after a crash)."""
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


@contextlib.asynccontextmanager
async def skewed_peer(bus: Bus, service: str, instance: str) -> AsyncIterator[Peer]:
    """A :class:`Peer` of ``service`` beating until it is stopped or the block ends."""
    kv = await services_kv(bus)
    peer = Peer()

    async def beat() -> None:
        while True:
            hb = service_pb2.ServiceHeartbeat(
                service=service,
                instance=instance,
                health=service_pb2.HEALTH_SERVING,
                interval_seconds=INTERVAL_S,
            )
            hb.time.FromSeconds(int(time.time() - SKEW_S))
            await kv.put(f"{service}.{instance}", hb.SerializeToString())
            peer.beats += 1
            await asyncio.sleep(INTERVAL_S)

    peer.task = asyncio.create_task(beat())
    try:
        yield peer
    finally:
        await peer.stop()


async def test_a_heartbeat_30_s_behind_is_live_and_goes_stale_when_it_stops(bus: Bus) -> None:
    async def listed() -> bool:
        return any(hb.instance == "behind" for hb in await read_heartbeats(bus))

    async def gone() -> bool:
        return not await listed()

    async with skewed_peer(bus, "oee", "behind") as peer:
        await wait_until(listed, message="the instance 30 s behind is listed")
        await peer.beat_for(STALE_AFTER_S + 0.5)
        assert await listed(), "still listed while it beats"
    await wait_until(gone, timeout=STALE_AFTER_S + 5, message="stale after it stopped")


async def test_a_skewed_replica_shares_the_devices_and_they_move_when_it_stops(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    devices = [
        {
            "name": f"d{i}",
            "driver": "memory",
            "endpoint": f"memory://skew-{i}-{uuid.uuid4().hex}",
            "machine": "s/a/l/m1",
            "poll_interval_s": 0.05,
            "tags": [{"name": "count", "address": "c", "data_type": "uint32"}],
        }
        for i in range(8)
    ]
    config = PlantConfig.model_validate({"devices": devices})
    await put_config(bus, config)
    share = set(assign(config.devices, "a", ["a", "behind"]))
    assert 0 < len(share) < 8
    async with (
        skewed_peer(bus, "device", "behind") as peer,
        hosted(
            [DeviceService],
            nats_url=nats_url,
            data_dir=tmp_path,
            options={"device": {"membership_interval_s": INTERVAL_S}},
            instance="a",
            heartbeat_interval_s=INTERVAL_S,
        ) as runner,
    ):
        service = runner.services["device"]
        assert isinstance(service, DeviceService)
        await wait_until(lambda: set(service.runners) == share, message="a runs its share")
        await peer.beat_for(STALE_AFTER_S + 0.5)
        assert set(service.runners) == share, "the replica 30 s behind was called stale"
        await peer.stop()
        await wait_until(
            lambda: len(service.runners) == 8,
            timeout=STALE_AFTER_S + 5,
            message="a took over the devices of the replica that stopped beating",
        )
