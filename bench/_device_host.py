"""Bench helper: the device service alone in this process, so its CPU and memory can be
measured apart from everything else.

``python bench/_device_host.py CONFIG NATS_URL DATA_DIR [--uvloop]`` runs the devices of
the plant config ``CONFIG`` (a JSON file) and publishes their telemetry into JetStream
at ``NATS_URL``; prints ``ready`` once they run, and when stdin closes stops and prints
its devices' counters as JSON, with the process's RSS after each step (``rss_mb``:
imported, config validated, devices running, at the end; ``peak``: the most it ever
had). ``--reapply 0.5,1`` applies the config again every ``--reapply-every`` seconds
with every device's poll interval changed to each of those in turn, validated while the
running one is alive (as bench/plant_scale.py steps its rate); ``rss_mb``'s
``reapplied_<n>``: the most RSS from SETTLE_S after each apply to the next. Without governance,
heartbeats or gRPC: the same pipeline ``plantbus run device`` hosts, with its tracer and
meter providers (spans made, nothing exported).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from plantbus.config import PlantConfig
from plantbus.device.service import DeviceService
from plantbus.kit import telemetry
from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.service import ServiceContext
from plantbus.kit.tasks import cancel

SETTLE_S = 3.0


async def _no_audit(**_: Any) -> None:
    return None


def rss_mb() -> float:
    """This process's resident memory now."""
    return round(float(psutil.Process().memory_info().rss) / 2**20, 1)


def peak_rss_mb() -> float:
    """The most resident memory this process has had (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 2**10, 1)
    return 0.0


def with_interval(doc: dict[str, Any], interval_s: float) -> PlantConfig:
    """The plant ``doc`` validated anew, every device polled every ``interval_s``."""
    for device in doc["devices"]:
        device["poll_interval_s"] = interval_s
    return PlantConfig.model_validate(doc)


async def reapply(
    service: DeviceService,
    rss: dict[str, float],
    doc: dict[str, Any],
    every_s: float,
    intervals: list[float],
) -> None:
    """Apply ``doc`` again every ``every_s`` at each of ``intervals``; after each, the
    most RSS from ``SETTLE_S`` later to the next (as bench/plant_scale.py samples it)."""
    await asyncio.sleep(every_s)
    for n, interval in enumerate(intervals, start=1):
        await service.apply_config(with_interval(doc, interval), 1 + n)
        end = time.monotonic() + every_s
        await asyncio.sleep(SETTLE_S)
        while time.monotonic() < end:
            rss[f"reapplied_{n}"] = max(rss.get(f"reapplied_{n}", 0.0), rss_mb())
            await asyncio.sleep(0.5)


async def main(
    config: PlantConfig,
    nats_url: str,
    data_dir: Path,
    rss: dict[str, float],
    again: tuple[dict[str, Any], float, list[float]] | None,
) -> None:
    bus = await connect(NatsSettings(url=nats_url, name="bench-device"))
    service = DeviceService(ServiceContext("device", "bench", bus, data_dir, _no_audit))
    await service.start()
    await service.apply_config(config, 1)
    rss["running"] = rss_mb()
    del config
    print("ready", flush=True)
    reapplies = asyncio.create_task(reapply(service, rss, *again)) if again else None
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await cancel(reapplies)
    rss["end"] = rss_mb()
    rss["peak"] = peak_rss_mb()
    runners = list(service.runners.values())
    await service.stop()
    await bus.close()
    counters = [r.counters for r in runners]
    totals = {
        "published": sum(c.samples_published for c in counters),
        "sent": service.publisher.published,
        "polls": sum(c.polls for c in counters),
        "poll_errors": sum(c.poll_errors for c in counters),
        "lost": sum(c.samples_lost for c in counters),
        "spool_left": len(service.spool),
        "spool_dropped": service.spool.dropped,
        "waited_for_stream_s": round(service.publisher.waited_s, 1),
        "rss_mb": rss,
    }
    print(json.dumps(totals), flush=True)


def loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when asked for, else asyncio's."""
    if not use_uvloop:
        return None
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("nats_url")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--reapply", default="", help="poll intervals to apply again at")
    parser.add_argument("--reapply-every", type=float, default=8.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    telemetry.configure("device", "bench")  # as `plantbus run device`: real spans, no export
    steps = {"imported": rss_mb()}
    plant = PlantConfig.model_validate(json.loads(args.config.read_text()))
    steps["config"] = rss_mb()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    intervals = [float(s) for s in args.reapply.split(",") if s]
    again = (json.loads(args.config.read_text()), args.reapply_every, intervals)
    hosted = main(plant, args.nats_url, args.data_dir, steps, again if intervals else None)
    del plant  # the service alone holds its config: a re-apply replaces it
    with asyncio.Runner(loop_factory=loop_factory(args.uvloop)) as runner:
        runner.run(hosted)
