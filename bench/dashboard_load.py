"""What the dashboard costs at plant scale, alone in its own process (issue #21).

The dashboard service runs in a child process (this file with ``--host``) on a throwaway
nats-server, with one browser connected to its event stream (``public_read``, so no
sign-in). This process plays the rest of the hub: 5,000 tags (100 machines x 50) published
as the device service frames them (``device/wire.py``: one one-sample ``TagSampleBatch``
per tag and cycle, ``Plantbus-Type`` and ``Nats-Msg-Id`` headers) at 2 Hz, an OEE snapshot
per machine and line every second, a heartbeat per service every second, and one tag
whose quality flips between good and bad every second. The browser must see each flip
(``quality`` events) and the OEE snapshots: what the page shows stays live.

The dashboard runs on the event loop ``plantbus run`` gives it (uvloop where installed,
``PLANTBUS_UVLOOP=0`` for asyncio's). CPU, not wall time: the dashboard's user + system
seconds over MEASURE_S per 1,000 tag samples published (the machine is shared; CPU time
does not depend on the neighbours).

Prints JSON: dashboard_cpu_ms_per_1k_samples, dashboard_idle_cpu_ms_per_s (the same
process with no telemetry, for scale), and what the browser got while measuring:
dashboard_quality_events, dashboard_oee_events, dashboard_browser_reconnects (the
dashboard dropped it: its queue overflowed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from google.protobuf.timestamp_pb2 import Timestamp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import cpu_seconds, nats_server

from plantbus.device import wire
from plantbus.kit import subjects
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.sdk.driver import Quality
from plantbus.v1 import oee_pb2, service_pb2

LINES, MACHINES, TAGS = 10, 10, 50
RATE_HZ = 2.0
SETTLE_S = 4.0
MEASURE_S = 15.0
FLIPPING = "p/a/l0/m0/t0"
"""The tag whose quality flips every second."""


async def _no_audit(**_: Any) -> None:
    return None


async def host(nats_url: str, data_dir: Path) -> None:
    """The dashboard service alone (no gRPC, no governance): prints its port, runs until
    stdin closes."""
    from plantbus.dashboard.service import DashboardService
    from plantbus.kit.service import ServiceContext

    bus = await connect(NatsSettings(url=nats_url, name="bench-dashboard"))
    options = {"http_port": 0, "public_read": True}
    ctx = ServiceContext("dashboard", "bench", bus, data_dir, _no_audit, options=options)
    async with DashboardService(ctx) as service:
        print(service.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await bus.close()


def paths() -> list[str]:
    return [
        f"p/a/l{line}/m{m}/t{t}"
        for line in range(LINES)
        for m in range(MACHINES)
        for t in range(TAGS)
    ]


class Plant:
    """The rest of the hub, as far as the dashboard hears it."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.codecs = [wire.TagCodec(p, "", "dev", "1") for p in paths()]
        self.sequence = 0
        self.samples = 0

    async def cycle(self) -> None:
        """One poll of every tag."""
        self.sequence += 1
        now = time.time_ns()
        stamp = wire.timestamps(_timestamp(now), _timestamp(now))
        records = [
            codec.record(
                float(self.sequence),
                Quality.BAD if i == 0 and self.sequence % 4 < 2 else Quality.GOOD,
                "",
                self.sequence,
                stamp,
            )
            for i, codec in enumerate(self.codecs)
        ]
        await wire.write(self.bus.nc, wire.frames(records, self.bus.nc.max_payload))
        self.samples += len(records)

    async def second(self) -> None:
        """Each machine's and line's OEE snapshot, each service's heartbeat."""
        for line in range(LINES):
            scopes = [f"p/a/l{line}"] + [f"p/a/l{line}/m{m}" for m in range(MACHINES)]
            for scope in scopes:
                snap = oee_pb2.OeeSnapshot(scope=scope, oee=0.8, availability=0.9, state="running")
                await self.bus.publish(subjects.oee(*scope.split("/")), snap)
        for name in ("device", "oee", "alerting"):
            hb = service_pb2.ServiceHeartbeat(service=name, instance="bench")
            await self.bus.publish(subjects.heartbeat(name, "bench"), hb)

    async def run(self, seconds: float) -> None:
        """Publish for ``seconds`` at RATE_HZ, on a schedule (late cycles are not made up)."""
        start = time.monotonic()
        ticks = 0
        while time.monotonic() - start < seconds:
            await self.cycle()
            if ticks % int(RATE_HZ) == 0:
                await self.second()
            ticks += 1
            await self.bus.nc.flush()
            await asyncio.sleep(max(0.0, ticks / RATE_HZ - (time.monotonic() - start)))


def _timestamp(ns: int) -> bytes:
    ts = Timestamp()
    ts.FromNanoseconds(ns)
    return ts.SerializeToString()


async def browser(url: str, seen: dict[str, int]) -> None:
    """One open page's event stream: counts events by kind, and connections (a browser
    the dashboard dropped reconnects, as EventSource does)."""
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(url) as stream:
                seen["connects"] = seen.get("connects", 0) + 1
                async for raw in stream.content:
                    line = raw.decode().strip()
                    if line.startswith("event: "):
                        kind = line[len("event: ") :]
                        seen[kind] = seen.get(kind, 0) + 1


def start_host(nats_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The dashboard's process and the port it serves on."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--host", nats_url, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    return child, int(child.stdout.readline().strip())


async def measure(nats_url: str, data_dir: Path) -> dict[str, float]:
    child, port = await asyncio.to_thread(start_host, nats_url, data_dir)
    try:
        seen: dict[str, int] = {}
        reading = asyncio.create_task(browser(f"http://127.0.0.1:{port}/api/events", seen))
        bus = await connect(NatsSettings(url=nats_url, name="bench-plant"))
        plant = Plant(bus)
        idle_from = cpu_seconds([child.pid])
        await asyncio.sleep(5.0)
        idle = (cpu_seconds([child.pid]) - idle_from) / 5.0
        await plant.run(SETTLE_S)
        before, samples, events = cpu_seconds([child.pid]), plant.samples, dict(seen)
        await plant.run(MEASURE_S)
        cpu = cpu_seconds([child.pid]) - before
        samples = plant.samples - samples
        await asyncio.sleep(1.0)
        reading.cancel()
        await bus.close()
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(30)
    return {
        "dashboard_cpu_ms_per_1k_samples": round(1e6 * cpu / samples, 2),
        "dashboard_idle_cpu_ms_per_s": round(1e3 * idle, 2),
        "dashboard_samples_per_s": round(samples / MEASURE_S),
        "dashboard_quality_events": seen.get("quality", 0) - events.get("quality", 0),
        "dashboard_oee_events": seen.get("oee", 0) - events.get("oee", 0),
        "dashboard_browser_reconnects": seen.get("connects", 0) - events.get("connects", 0),
    }


async def main() -> None:
    with nats_server() as (server, tmp):
        figures = await measure(server.url, tmp / "dashboard")
    print(f"[dashboard_load] {figures}", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", nargs=2, metavar=("NATS_URL", "DATA_DIR"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.host:
        from plantbus.cli.core import _loop_factory  # the loop `plantbus run` gives it

        Path(args.host[1]).mkdir(parents=True, exist_ok=True)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(host(args.host[0], Path(args.host[1])))
    else:
        asyncio.run(main())
