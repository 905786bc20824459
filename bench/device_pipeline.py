"""Device pipeline throughput: tag samples per second from the device service into JetStream.

The in-memory driver (no protocol cost) serves 10,000 tags that change on every read,
spread over 10 devices polled as fast as the service can; every sample goes through
the real path: read, conversion, deadband, protobuf, publish into PLANTBUS_CYCLES on
a real nats-server. The baseline ``nats_raw_publish_per_s`` is measured in the same run
on the same server: bare ``publish`` calls of same-sized payloads to the same subjects,
so the ratio shows what the pipeline costs on this machine.

The machine is shared, so the two are measured in alternating rounds and the medians
reported; beside the wall-clock rates, the CPU each costs this process per message
(``*_cpu_us_*``), which the neighbours do not change. ``device_stream_lost`` counts
published samples the stream does not hold (must be 0).

Prints JSON: device_samples_per_s, nats_raw_publish_per_s, telemetry_ratio (median of the
rounds' ratios), device_cpu_us_per_sample, nats_raw_cpu_us_per_publish,
telemetry_cpu_ratio, device_stream_messages, device_stream_lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import median, stored_samples

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
ROUNDS = 3
WARMUP_S = 1.0
MEASURE_S = 3.0


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


async def device_round(bus: Bus, data_dir: Path) -> tuple[float, float, int]:
    """Samples per second the device service publishes, CPU seconds per sample, and how
    many published samples the stream does not hold."""
    ctx = ServiceContext("device", "bench", bus, data_dir, _no_audit)
    service = DeviceService(ctx)
    await service.start()
    _, before = await stored_samples(bus)
    await service.apply_config(plant(), 1)

    runners = list(service.runners.values())

    def published() -> int:
        return sum(int(r.counters.samples_published) for r in runners)

    await asyncio.sleep(WARMUP_S)
    start_count, started, cpu = published(), time.perf_counter(), time.process_time()
    await asyncio.sleep(MEASURE_S)
    count, elapsed = published() - start_count, time.perf_counter() - started
    cpu = time.process_time() - cpu
    await service.stop()
    total = published()
    await bus.nc.flush(timeout=30)
    return count / elapsed, cpu / count, total - (await stored_samples(bus, before))[0]


async def raw_round(bus: Bus) -> tuple[float, float]:
    """Bare publishes of same-sized payloads to the same subjects: per second, CPU
    seconds per publish."""
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
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < MEASURE_S:
        for subject in subjects:
            await publish(subject, payload, headers=headers)
        await bus.nc.flush(timeout=30)
        count += len(subjects)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return count / elapsed, cpu / count


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    device: list[tuple[float, float, int]] = []
    raw: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(store_dir=Path(tmp) / "nats").start()
        try:
            bus = await connect(NatsSettings(url=server.url, name="bench"))
            for n in range(ROUNDS):
                device.append(await device_round(bus, Path(tmp) / f"device{n}"))
                raw.append(await raw_round(bus))
            messages = (await bus.js.stream_info(streams.CYCLES.name)).state.messages
            await bus.close()
        finally:
            server.stop()
    cpu_device = median(d[1] for d in device)
    cpu_raw = median(r[1] for r in raw)
    print(
        json.dumps(
            {
                "device_samples_per_s": round(median(d[0] for d in device)),
                "nats_raw_publish_per_s": round(median(r[0] for r in raw)),
                "telemetry_ratio": round(
                    median(d[0] / r[0] for d, r in zip(device, raw, strict=True)), 3
                ),
                "device_cpu_us_per_sample": round(cpu_device * 1e6, 2),
                "nats_raw_cpu_us_per_publish": round(cpu_raw * 1e6, 2),
                "telemetry_cpu_ratio": round(cpu_raw / cpu_device, 3),
                "device_stream_messages": messages,
                "device_stream_lost": sum(d[2] for d in device),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
