"""Telemetry throughput on a real 3-node JetStream cluster: the device pipeline of
``device_pipeline`` (10,000 in-memory tags, the real read-convert-publish path) into
PLANTBUS_CYCLES with three replicas against the same stream with one, in the same run
on the same three servers (the stream is recreated between rounds, R1 and R3 alternate).

What R3 costs is RAFT: the stream's leader acknowledges a publish once a second server
holds it, and every server stores every message. Here the three servers and the pipeline
share this machine's cores, so beside the wall-clock rates each round's CPU is reported:
the three nats-servers' per 1,000 samples stored (``*_nats_cpu_ms_per_1k``) and the
pipeline's own (``telemetry_pipeline_cpu_ms_per_1k``, this process). When the cores are
saturated, throughput is their capacity over the CPU a sample costs, so the ratio cannot
exceed ``telemetry_r3_cpu_bound_ratio`` = (pipeline + R1 servers) / (pipeline + R3
servers); on a real cluster each server has its own machine and R3 costs latency instead.
Each round's leader and the server the client is connected to go to stderr (at R1 a
client on the leader saves the route hop). ``cluster_stream_lost`` counts published
samples the stream does not hold in either case (must be 0).

Prints JSON: telemetry_r1_samples_per_s, telemetry_r3_samples_per_s, telemetry_r3_ratio
(median of the rounds' ratios), telemetry_r1_nats_cpu_ms_per_1k,
telemetry_r3_nats_cpu_ms_per_1k, telemetry_pipeline_cpu_ms_per_1k,
telemetry_r3_cpu_bound_ratio, cluster_stream_lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import cpu_seconds, median, stored_samples
from device_pipeline import device_round
from nats.js.errors import NotFoundError

from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.natsconnect import connect
from plantbus.testing.cluster import NatsCluster

ROUNDS = 3


@dataclass
class Round:
    """One round's figures."""

    rate: float
    """Samples per second."""
    nats_ms_per_1k: float
    """CPU milliseconds of the three nats-servers per 1,000 samples stored."""
    pipeline_ms_per_1k: float
    """CPU milliseconds of this process (the device pipeline) per 1,000 samples."""
    lost: int


async def round_at(bus: Bus, cluster: NatsCluster, data_dir: Path) -> Round:
    """A round into a fresh telemetry stream with the bus's replicas."""
    with contextlib.suppress(NotFoundError):  # the first round: no stream yet
        # a replicated stream's delete can take seconds on a loaded machine
        await bus.nc.jetstream(timeout=30).delete_stream(streams.CYCLES.name)
    servers = [node.server.process.pid for node in cluster.nodes if node.server.process]
    cpu = cpu_seconds(servers)
    rate, pipeline_s, lost = await device_round(bus, data_dir)
    cpu = cpu_seconds(servers) - cpu
    info = await bus.js.stream_info(streams.CYCLES.name)
    assert info.config.num_replicas == bus.settings.js_replicas, info.config
    leader = info.cluster.leader if info.cluster else "?"
    port = bus.nc.connected_url.port if bus.nc.connected_url else None
    client = next((n.name for n in cluster.nodes if n.server.client_port == port), "?")
    print(
        f"R{bus.settings.js_replicas}: {rate:,.0f} samples/s, leader {leader}, client on {client}",
        file=sys.stderr,
    )
    stored = max((await stored_samples(bus))[0], 1)
    return Round(rate, cpu / stored * 1e6, pipeline_s * 1e6, lost)


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    rounds: dict[int, list[Round]] = {1: [], 3: []}
    with tempfile.TemporaryDirectory() as tmp:
        cluster = NatsCluster.in_dir(Path(tmp) / "cluster").start()
        try:
            settings = cluster.settings("bench")
            buses = {
                n: await connect(settings.model_copy(update={"js_replicas": n})) for n in rounds
            }
            for i in range(ROUNDS):
                for n, bus in buses.items():
                    rounds[n].append(await round_at(bus, cluster, Path(tmp) / f"d-r{n}-{i}"))
            for bus in buses.values():
                await bus.close()
        finally:
            cluster.stop()
    r1, r3 = rounds[1], rounds[3]
    nats = {n: median(r.nats_ms_per_1k for r in rounds[n]) for n in rounds}
    pipeline = median(r.pipeline_ms_per_1k for r in r1 + r3)
    print(
        json.dumps(
            {
                "telemetry_r1_samples_per_s": round(median(r.rate for r in r1)),
                "telemetry_r3_samples_per_s": round(median(r.rate for r in r3)),
                "telemetry_r3_ratio": round(
                    median(b.rate / a.rate for a, b in zip(r1, r3, strict=True)), 3
                ),
                "telemetry_r1_nats_cpu_ms_per_1k": round(nats[1], 2),
                "telemetry_r3_nats_cpu_ms_per_1k": round(nats[3], 2),
                "telemetry_pipeline_cpu_ms_per_1k": round(pipeline, 2),
                "telemetry_r3_cpu_bound_ratio": round(
                    (pipeline + nats[1]) / (pipeline + nats[3]), 3
                ),
                "cluster_stream_lost": sum(r.lost for r in r1 + r3),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
