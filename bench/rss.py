"""Memory of the hub under load: RSS per service process (``plantbus up``) and of the
single-process hub (``plantbus up --single-process``).

Load: the simulated plant plus a publisher sending telemetry batches for 1,000 extra
tags at 10 Hz onto the bus, so OEE and alerting have work to do. Prints JSON:
``max_service_rss_mb``, ``single_process_rss_mb`` and the per-service figures.

And the device service at plant scale, alone in its process (bench/_device_host.py):
``device_rss_mb_50k_tags``, 1,000 memory devices of 50 changing tags polled at 1 Hz
(bench/plant_scale.py's plant at its largest), every sample into PLANTBUS_TELEMETRY,
with the RSS after its steps (``..._imported``, ``_config``, ``_running``).
``python bench/rss.py --device-only`` measures only that (15 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import nats_server, started
from modbus_scale import measure, plant

from plantbus.kit import natsconfig, subjects
from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.v1 import telemetry_pb2

LOAD_S = 15.0
TAGS = 1_000


def start_hub(data_dir: Path, single: bool) -> tuple[subprocess.Popen[bytes], dict[str, object]]:
    args = [
        sys.executable,
        "-m",
        "plantbus.cli",
        "up",
        "--random-ports",
        "--data-dir",
        str(data_dir),
    ]
    if single:
        args.append("--single-process")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, started(proc, data_dir, timeout_s=120, poll_s=0.2)


def publisher(data_dir: Path, url: str, single: bool) -> NatsSettings:
    """The hub's NATS user that may publish telemetry: the device service's (or all's)."""
    user = "all" if single else "device"
    secret = natsconfig.password_file(natsconfig.credentials_dir(data_dir), user).read_text()
    return NatsSettings(url=url, name="bench-load", user=user, password=SecretStr(secret.strip()))


async def load(settings: NatsSettings, seconds: float) -> None:
    bus = await connect(settings)
    subject = subjects.telemetry("demo", "machining", "line1", "m1", "load")
    end = time.monotonic() + seconds
    seq = 0
    while time.monotonic() < end:
        batch = telemetry_pb2.TagSampleBatch(device="bench")
        for i in range(TAGS):
            seq += 1
            sample = batch.samples.add(path=f"demo/machining/line1/m1/load{i}", sequence=seq)
            sample.value.double_value = float(seq % 100)
            sample.quality = telemetry_pb2.QUALITY_GOOD
        await bus.publish(subject, batch)
        await asyncio.sleep(0.1)
    await bus.close()


def hub_rss(single: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, runtime = start_hub(Path(tmp), single)
        try:
            peaks: dict[str, float] = {}
            children = psutil.Process(proc.pid).children(recursive=True)

            async def sample_while_loading() -> None:
                settings = publisher(Path(tmp), str(runtime["nats_url"]), single)
                task = asyncio.create_task(load(settings, LOAD_S))
                while not task.done():
                    for child in children:
                        try:
                            cmd = child.cmdline()
                            rss = child.memory_info().rss / 2**20
                        except psutil.NoSuchProcess:
                            continue
                        if "nats-server" in cmd[0]:
                            continue
                        name = cmd[cmd.index("run") + 1] if "run" in cmd else cmd[-1]
                        if "sim" in cmd:
                            name = "sim"
                        peaks[name] = max(peaks.get(name, 0.0), rss)
                    await asyncio.sleep(0.5)
                await task

            asyncio.run(sample_while_loading())
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
    return peaks


def memory_plant(devices: int, tags: int) -> dict[str, Any]:
    """``devices`` memory devices of ``tags`` changing tags, polled at 1 Hz."""
    config = plant([f"memory://d{d}" for d in range(devices)], tags, 1.0)
    for device in config["devices"]:
        device |= {"driver": "memory", "settings": {"changing": True}}
    return config


async def device_at_scale() -> dict[str, float]:
    """The device service alone on 50,000 memory tags at 1 Hz."""
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url, name="bench-rss"))
        run = await measure(bus, server.url, tmp, memory_plant(1000, 50), seconds=8.0)
        await bus.close()
    steps = {f"device_rss_mb_50k_tags_{k}": v for k, v in run.steps_mb.items() if k != "end"}
    return {"device_rss_mb_50k_tags": round(run.rss_mb, 1), **steps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device-only", action="store_true", help="only device_rss_mb_50k_tags")
    device_only = parser.parse_args().device_only
    at_scale = asyncio.run(device_at_scale())
    if device_only:
        print(json.dumps(at_scale))
        return
    per_service = hub_rss(single=False)
    services = {k: v for k, v in per_service.items() if k != "sim"}
    single = hub_rss(single=True)
    out = {f"rss_mb_{k}": round(v, 1) for k, v in sorted(services.items())}
    out["max_service_rss_mb"] = round(max(services.values(), default=0.0), 1)
    out["single_process_rss_mb"] = round(single.get("all", 0.0), 1)
    print(json.dumps(out | at_scale))


if __name__ == "__main__":
    main()
