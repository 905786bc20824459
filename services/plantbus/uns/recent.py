"""The latest value of each tag, read back from the telemetry stream.

A device publishes a tag when it changes and again every ``refresh_s`` when it does not,
so the stream's last ``refresh_s`` holds every tag's current value. The uns service reads
it when it starts publishing a subtree (its first config, or one that opts more in):
a setpoint that does not move would otherwise have no retained value until its refresh,
up to a minute, for a cycle that went out before the service had its config.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import nats.errors
from nats.js.api import ConsumerConfig, DeliverPolicy

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.tagfeed import EVERY_MACHINE
from plantbus.v1 import telemetry_pb2

__all__ = ["latest_samples"]


async def latest_samples(
    bus: Bus, since: datetime, selects: Callable[[str], bool], quiet_s: float = 1.0
) -> dict[str, telemetry_pb2.TagSample]:
    """The last sample stored since ``since`` of every tag whose path ``selects`` accepts,
    read up to the end of the stream (or until no message came for ``quiet_s``)."""
    sub = await bus.js.subscribe(
        EVERY_MACHINE,
        stream=streams.CYCLES.name,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since),
    )
    latest: dict[str, telemetry_pb2.TagSample] = {}
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=quiet_s)
            except nats.errors.TimeoutError:
                break  # nothing stored since, or nothing more
            for sample in telemetry_pb2.TagSampleBatch.FromString(msg.data).samples:
                if selects(sample.path):
                    latest[sample.path] = sample
            if msg.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return latest
