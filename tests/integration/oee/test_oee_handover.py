"""A line handed over between OEE replicas (:mod:`plantbus.oee.share`) with a real
nats-server: figures the old owner had computed but not published (its lease lapsed for
a moment on a loaded machine, then the line moved) are published by the new owner, which
restored them from KV, even when no telemetry follows (production over)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg

from plantbus.config import PlantConfig
from plantbus.kit import streams, subjects
from plantbus.kit.bus import Bus
from plantbus.oee.share import LineShare
from plantbus.testing.messages import store_samples
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2, telemetry_pb2

LINE, MACHINE = "s/a/l", "s/a/l/m1"
CONFIG: dict[str, Any] = {
    "sites": [
        {
            "name": "s",
            "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
        }
    ],
    "oee": [
        {
            "machine": MACHINE,
            "state_tag": "state",
            "total_tag": "parts",
            "states": [{"value": 1, "state": "running"}, {"value": 3, "state": "stopped"}],
        }
    ],
}


async def _send(bus: Bus, samples: list[tuple[str, int]]) -> int:
    """One batch per sample into the telemetry stream; the last one's stream sequence."""
    seq = 0
    for n, (tag, value) in enumerate(samples, 1):
        sample = telemetry_pb2.TagSample(
            path=f"{MACHINE}/{tag}", sequence=n, quality=telemetry_pb2.QUALITY_GOOD
        )
        sample.value.int_value = value
        sample.source_time.FromNanoseconds(time.time_ns())
        seq = await store_samples(bus, sample)
    return seq


class Lease:
    """Stands for the replica's leases: held or, for a moment, lapsed."""

    def __init__(self) -> None:
        self.valid = True

    def holds(self, scope: str) -> bool:
        return self.valid


async def _share(bus: Bus, config: PlantConfig, lease: Lease) -> LineShare:
    share = LineShare(bus, logging.getLogger("test.oee"))
    share.kv = await streams.open_bucket(bus, streams.OEE_STATE)
    share.scopes = lease  # type: ignore[assignment]  # only holds() is asked
    await share.configure(config)
    return share


async def test_the_new_owner_publishes_the_counts_the_old_one_had_not_sent(bus: Bus) -> None:
    await streams.ensure_stream(bus, streams.CYCLES)
    config = PlantConfig.model_validate(CONFIG)
    totals: list[int] = []

    async def seen(msg: Msg) -> None:
        totals.append(oee_pb2.OeeSnapshot.FromString(msg.data).total_count)

    await bus.nc.subscribe(subjects.oee(*MACHINE.split("/")), cb=seen)

    def published(share: LineShare, count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            await share.tick(time.time())  # the service's tick loop, once a second
            await bus.nc.flush()
            return count in totals

        return check

    lease = Lease()
    old = await _share(bus, config, lease)
    await old.rebuild({LINE}, save=False)
    await _send(bus, [("state", 1), ("parts", 1), ("parts", 2)])
    await wait_until(published(old, 1), timeout=10, interval=0.5, message="the first part")
    lease.valid = False  # a renewal late under load: nothing may go out meanwhile
    last = await _send(bus, [("parts", 3), ("parts", 4)])
    await wait_until(lambda: old.source.seq == last, timeout=10, message="old owner read it all")
    made = old.live.machine_snapshot(MACHINE, time.time()).total_count
    assert made == 3
    lease.valid = True  # renewed; then the line moves to its preferred replica
    await old.rebuild(set(), save=True)  # saved, then dropped
    new = await _share(bus, config, Lease())
    await new.rebuild({LINE}, save=False)
    await wait_until(published(new, made), timeout=10, interval=0.5, message="the new owner")
    assert totals == sorted(totals) and max(totals) == made  # nothing counted twice
    await new.close()
