"""Telemetry throughput on a real 3-node JetStream cluster: the device pipeline of
``device_pipeline`` (10,000 in-memory tags, the real read-convert-publish path) into
PLANTBUS_TELEMETRY with three replicas against the same stream with one, in the same run
on the same three servers (the stream is recreated between rounds, R1 and R3 alternate).

What R3 costs is RAFT: the stream's leader acknowledges a publish once a second server
holds it. ``cluster_stream_lost`` counts published samples the stream does not hold in
either case (must be 0).

Prints JSON: telemetry_r1_samples_per_s, telemetry_r3_samples_per_s, telemetry_r3_ratio
(median of the rounds' ratios), cluster_stream_lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import median
from device_pipeline import device_round
from nats.js.errors import NotFoundError

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.natsconnect import connect
from plantbus.testing.cluster import NatsCluster

ROUNDS = 3


async def round_at(bus: Bus, data_dir: Path) -> tuple[float, int]:
    """Samples per second into a fresh telemetry stream with the bus's replicas, and how
    many published samples it does not hold."""
    with contextlib.suppress(NotFoundError):  # the first round: no stream yet
        await bus.js.delete_stream(streams.TELEMETRY.name)
    rate, _, lost = await device_round(bus, data_dir)
    info = await bus.js.stream_info(streams.TELEMETRY.name)
    assert info.config.num_replicas == bus.settings.js_replicas, info.config
    return rate, lost


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    rates: dict[int, list[float]] = {1: [], 3: []}
    lost = 0
    with tempfile.TemporaryDirectory() as tmp:
        cluster = NatsCluster.in_dir(Path(tmp) / "cluster").start()
        try:
            settings = cluster.settings("bench")
            buses = {
                n: await connect(settings.model_copy(update={"js_replicas": n})) for n in rates
            }
            for i in range(ROUNDS):
                for n, bus in buses.items():
                    rate, missing = await round_at(bus, Path(tmp) / f"device-r{n}-{i}")
                    rates[n].append(rate)
                    lost += missing
            for bus in buses.values():
                await bus.close()
        finally:
            cluster.stop()
    print(
        json.dumps(
            {
                "telemetry_r1_samples_per_s": round(median(rates[1])),
                "telemetry_r3_samples_per_s": round(median(rates[3])),
                "telemetry_r3_ratio": round(
                    median(r3 / r1 for r1, r3 in zip(rates[1], rates[3], strict=True)), 3
                ),
                "cluster_stream_lost": lost,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
