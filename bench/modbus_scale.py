"""Modbus at plant scale: what the device service costs on a real protocol.

1. 10 Modbus devices of 1,000 changing holding registers each, all served by one
   pymodbus server process (unit ids 1..10 on one port), polled at 1 Hz and at 10 Hz and
   then as fast as the service can, every sample published into PLANTBUS_CYCLES:
   CPU-ms of the device service process per 1,000 samples stored in the stream (median
   of two rounds), its RSS, and the samples per second where it saturates (the most it
   delivered). Each round runs 1 Hz and 10 Hz on asyncio's loop and on uvloop's.
2. 200 devices of 100 registers at 1 Hz (4 ports x 50 unit ids in one server process),
   one of them hanging (its port accepts connections and never answers): p99 jitter of
   the others' poll timing, the gap between one tag's consecutive samples minus the
   interval; and the same without the hanging device for comparison.

The device service runs alone in its own process (bench/_device_host.py); the CPU
figures are its user + system time, which the machine's other load does not change.
"Delivered" is counted in the stream, not by a Python subscriber, which at 100,000
messages a second would take a core from the processes being measured.

Prints JSON: modbus_device_cpu_ms_per_1k_samples (1 Hz), ..._10hz, ..._uvloop(_10hz),
modbus_device_saturation_samples_per_s, modbus_device_rss_mb (the most over the runs) with
its breakdown (``modbus_device_rss_mb_imported``, ``_config``, ``_running``: the service
process after its imports, after validating the config, once its devices run),
modbus_200_devices_jitter_p99_ms, modbus_200_devices_jitter_p99_ms_no_hang,
modbus_200_devices_cpu_ms_per_1k_samples.

``--memory``: part 1 only, one round on asyncio's loop (about a minute), for the memory
figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from nats.aio.msg import Msg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import (
    cpu_seconds,
    last_seq,
    median,
    nats_server,
    percentile,
    runqueue_wait_s,
    samples_between,
)

from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.v1 import telemetry_pb2

BENCH = Path(__file__).resolve().parent
ROUNDS = 2
LOOPS = (False, True) if importlib.util.find_spec("uvloop") else (False,)
"""asyncio's event loop, and uvloop's where it is installed."""
WARMUP_S = 3.0
MEASURE_S = 8.0
JITTER_S = 15.0


@dataclass(frozen=True)
class Run:
    """What one configuration cost the device service."""

    samples_per_s: float
    cpu_ms_per_1k: float
    rss_mb: float
    waited_ms_per_s: float
    """Time the service's event loop was runnable but had no CPU, per second."""
    steps_mb: dict[str, float]
    """The service's RSS after its steps (imported, config, running, end)."""


class Helper:
    """A bench helper process: what it printed first, and last (after it was told to stop)."""

    def __init__(self, proc: subprocess.Popen[str], first: str) -> None:
        self.proc = proc
        self.first = first
        self.last = ""


@contextmanager
def child(*args: str) -> Iterator[Helper]:
    """Run a bench helper until the block ends; closing its stdin stops it."""
    proc = subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"{args[0]} exited with {proc.wait()}")
        helper = Helper(proc, line)
        yield helper
    finally:
        proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        rest = proc.stdout.read().strip().splitlines()
        helper.last = rest[-1] if rest else ""


def plant(endpoints: list[str], registers: int, interval_s: float) -> dict[str, Any]:
    """A device per endpoint, ``registers`` uint16 holding registers each."""
    return {
        "devices": [
            {
                "name": f"d{d}",
                "driver": "modbus",
                "endpoint": endpoint,
                "machine": f"s/a/l/m{d}",
                "poll_interval_s": interval_s,
                "tags": [
                    {"name": f"r{i}", "address": f"holding:{i}", "data_type": "uint16"}
                    for i in range(registers)
                ],
            }
            for d, endpoint in enumerate(endpoints)
        ]
    }


async def measure(
    bus: Bus,
    url: str,
    tmp: Path,
    config: dict[str, Any],
    use_uvloop: bool = False,
    seconds: float = MEASURE_S,
) -> Run:
    """Run the device service on ``config``; its rate, CPU and memory over ``seconds``."""
    path = tmp / f"plant-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(config))
    args = [str(BENCH / "_device_host.py"), str(path), url, str(tmp / path.stem)]
    with child(*args, *(["--uvloop"] if use_uvloop else [])) as device:
        pid = device.proc.pid
        await asyncio.sleep(WARMUP_S)
        first, cpu, started = await last_seq(bus), cpu_seconds([pid]), time.monotonic()
        waited = runqueue_wait_s(pid)
        await asyncio.sleep(seconds)
        last = await last_seq(bus)
        cpu, elapsed = cpu_seconds([pid]) - cpu, time.monotonic() - started
        waited = runqueue_wait_s(pid) - waited
        rss = psutil.Process(pid).memory_info().rss / 2**20
    count = await samples_between(bus, first, last)
    print(
        f"[modbus_scale] {count / elapsed:.0f} samples/s, {1e6 * cpu / max(count, 1):.2f} CPU-ms"
        f" per 1k, waited for a CPU {1e3 * waited / elapsed:.0f} ms/s; {device.last}",
        file=sys.stderr,
    )
    steps = json.loads(device.last).get("rss_mb", {}) if device.last.startswith("{") else {}
    return Run(count / elapsed, 1e6 * cpu / max(count, 1), rss, 1e3 * waited / elapsed, steps)


async def jitter(bus: Bus, url: str, tmp: Path, endpoints: list[str]) -> tuple[float, float, Run]:
    """p99 poll jitter (ms) of the devices on ``endpoints`` polled at 1 Hz, from the
    receive times of their first tag (the hanging device's are all bad, left out), and
    the p99 jitter of an idle event loop on the same schedule at the same time."""
    times: dict[str, list[float]] = {}

    async def on_sample(msg: Msg) -> None:
        sample = telemetry_pb2.TagSampleBatch.FromString(msg.data).samples[0]
        if sample.quality == telemetry_pb2.QUALITY_GOOD:
            times.setdefault(sample.path, []).append(sample.receive_time.ToNanoseconds() / 1e9)

    sub = await bus.nc.subscribe("plantbus.v1.telemetry.s.a.l.*.r0", cb=on_sample)
    try:
        with child(str(BENCH / "_ticker.py"), str(len(endpoints)), "1.0") as ticker:
            started = time.time()
            run = await measure(bus, url, tmp, plant(endpoints, 100, 1.0), seconds=JITTER_S)
    finally:
        await sub.unsubscribe()
    gaps = [
        abs(b - a - 1.0) * 1e3
        for series in times.values()
        for a, b in itertools.pairwise(series)
        if a > started + WARMUP_S
    ]
    machine = json.loads(ticker.last)
    print(
        f"[modbus_scale] jitter p50 {percentile(gaps, 50):.1f} p99 {percentile(gaps, 99):.1f} ms"
        f" over {len(gaps)} gaps; an idle event loop here: p50 {machine['p50']:.1f}"
        f" p99 {machine['p99']:.1f} ms",
        file=sys.stderr,
    )
    return percentile(gaps, 99), float(machine["p99"]), run


async def ten_devices(
    bus: Bus, url: str, tmp: Path, rounds: int, loops: tuple[bool, ...]
) -> dict[str, float]:
    """Part 1: 10 devices x 1,000 registers at 1 Hz, 10 Hz and flat out."""
    with child(str(BENCH / "_modbus_plant.py"), "1", "10", "1000") as modbus:
        port = json.loads(modbus.first)["ports"][0]
        endpoints = [f"modbus://127.0.0.1:{port}?unit={u}" for u in range(1, 11)]
        runs: dict[tuple[bool, float], list[Run]] = {}
        for _ in range(rounds):  # alternated, so both loops see the same neighbours
            for use_uvloop in loops:
                for interval in (1.0, 0.1):
                    config = plant(endpoints, 1000, interval)
                    run = await measure(bus, url, tmp, config, use_uvloop, 6.0)
                    runs.setdefault((use_uvloop, interval), []).append(run)
        flat_out = await measure(bus, url, tmp, plant(endpoints, 1000, 0.001))
    every = [flat_out, *(r for rs in runs.values() for r in rs)]

    def cpu(use_uvloop: bool, interval: float) -> float:
        return round(median(r.cpu_ms_per_1k for r in runs[use_uvloop, interval]), 2)

    biggest = max(every, key=lambda r: r.rss_mb)
    figures = {
        "modbus_device_cpu_ms_per_1k_samples": cpu(False, 1.0),
        "modbus_device_cpu_ms_per_1k_samples_10hz": cpu(False, 0.1),
        "modbus_device_cpu_ms_per_1k_samples_max": round(flat_out.cpu_ms_per_1k, 2),
        "modbus_device_samples_per_s_1hz": round(median(r.samples_per_s for r in runs[False, 1.0])),
        "modbus_device_samples_per_s_10hz": round(
            median(r.samples_per_s for r in runs[False, 0.1])
        ),
        "modbus_device_saturation_samples_per_s": round(max(r.samples_per_s for r in every)),
        "modbus_device_rss_mb": round(biggest.rss_mb, 1),
        **{f"modbus_device_rss_mb_{k}": v for k, v in biggest.steps_mb.items() if k != "end"},
    }
    if True in loops:
        figures |= {
            "modbus_device_cpu_ms_per_1k_samples_uvloop": cpu(True, 1.0),
            "modbus_device_cpu_ms_per_1k_samples_uvloop_10hz": cpu(True, 0.1),
        }
    return figures


async def two_hundred_devices(bus: Bus, url: str, tmp: Path) -> dict[str, float]:
    """Part 2: 200 devices x 100 registers at 1 Hz, with and without a hanging one."""
    with child(str(BENCH / "_modbus_plant.py"), "4", "50", "100", "--hang") as modbus:
        ports = json.loads(modbus.first)
        live = [f"modbus://127.0.0.1:{p}?unit={u}" for p in ports["ports"] for u in range(1, 51)]
        hung = f"modbus://127.0.0.1:{ports['hang_port']}?unit=1"
        with_hang, machine, run = await jitter(bus, url, tmp, [*live[:199], hung])
        without, machine_too, _ = await jitter(bus, url, tmp, live)
    return {
        "modbus_200_devices_jitter_p99_ms": round(with_hang, 1),
        "modbus_200_devices_jitter_p99_ms_no_hang": round(without, 1),
        "idle_loop_jitter_p99_ms": round(max(machine, machine_too), 1),
        "modbus_200_devices_cpu_ms_per_1k_samples": round(run.cpu_ms_per_1k, 2),
        "modbus_200_devices_cpu_wait_ms_per_s": round(run.waited_ms_per_s),
    }


async def main(memory_only: bool) -> None:
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url, name="bench-modbus"))
        if memory_only:
            figures = await ten_devices(bus, server.url, tmp, 1, (False,))
        else:
            figures = await ten_devices(bus, server.url, tmp, ROUNDS, LOOPS)
            figures |= await two_hundred_devices(bus, server.url, tmp)
        await bus.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", action="store_true", help="part 1 only, one round")
    asyncio.run(main(parser.parse_args().memory))
