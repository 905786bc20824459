"""Device pipeline throughput: tag samples per second from the device service into JetStream.

The in-memory driver (no protocol cost) serves 10,000 tags that change on every read,
spread over 10 devices polled as fast as the service can; every sample goes through
the real path: read, conversion, deadband, protobuf, publish into PLANTBUS_TELEMETRY on
a real nats-server. The baseline ``nats_raw_publish_per_s`` is measured in the same run
on the same server: bare ``publish`` calls of same-sized payloads to the same subjects,
so the ratio shows what the pipeline costs on this machine.

Prints JSON: device_samples_per_s, nats_raw_publish_per_s, device_stream_messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from plantbus.config import PlantConfig
from plantbus.device.service import DeviceService
from plantbus.kit import streams
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.kit.service import ServiceContext
from plantbus.v1 import telemetry_pb2

DEVICES = 10
TAGS_PER_DEVICE = 1_000
WARMUP_S = 1.0
MEASURE_S = 5.0


def plant() -> PlantConfig:
    """10 memory devices of 1,000 changing uint32 tags each."""
    return PlantConfig.model_validate(
        {
            "devices": [
                {
                    "name": f"bench{d}",
                    "driver": "memory",
                    "endpoint": f"memory://bench{d}",
                    "machine": f"s/a/l/m{d}",
                    "poll_interval_s": 0.001,
                    "settings": {"changing": True},
                    "tags": [
                        {"name": f"t{i}", "address": f"a{i}", "data_type": "uint32"}
                        for i in range(TAGS_PER_DEVICE)
                    ],
                }
                for d in range(DEVICES)
            ]
        }
    )


async def _no_audit(**_: Any) -> None:
    return None


async def device_rate(bus: Bus, data_dir: Path) -> float:
    """Samples per second the device service publishes."""
    ctx = ServiceContext("device", "bench", bus, data_dir, _no_audit)
    service = DeviceService(ctx)
    await service.start()
    await service.apply_config(plant(), 1)

    def published() -> int:
        return sum(int(r.counters.samples_published) for r in service.runners.values())

    await asyncio.sleep(WARMUP_S)
    start_count, started = published(), time.perf_counter()
    await asyncio.sleep(MEASURE_S)
    rate = (published() - start_count) / (time.perf_counter() - started)
    await service.stop()
    await bus.nc.flush(timeout=30)
    return rate


async def raw_rate(bus: Bus) -> float:
    """Bare publishes of same-sized payloads to the same subjects."""
    sample = telemetry_pb2.TagSample(
        path="s/a/l/m0/t1", sequence=1, quality=telemetry_pb2.QUALITY_GOOD
    )
    sample.value.int_value = 123456
    payload = telemetry_pb2.TagSampleBatch(samples=[sample], device="bench0").SerializeToString()
    subjects = [
        f"plantbus.v1.telemetry.s.a.l.m{d}.t{i}"
        for d in range(DEVICES)
        for i in range(TAGS_PER_DEVICE)
    ]
    headers = {"Plantbus-Type": "plantbus.v1.TagSampleBatch"}
    publish = bus.nc.publish
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < MEASURE_S:
        for subject in subjects:
            await publish(subject, payload, headers=headers)
        await bus.nc.flush(timeout=30)
        count += len(subjects)
    return count / (time.perf_counter() - started)


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(store_dir=Path(tmp) / "nats").start()
        try:
            bus = await connect(NatsSettings(url=server.url, name="bench"))
            device = await device_rate(bus, Path(tmp) / "device")
            stored = (await bus.js.stream_info(streams.TELEMETRY.name)).state.messages
            raw = await raw_rate(bus)
            await bus.close()
        finally:
            server.stop()
    print(
        json.dumps(
            {
                "device_samples_per_s": round(device),
                "nats_raw_publish_per_s": round(raw),
                "device_stream_messages": stored,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
