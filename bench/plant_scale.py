"""The whole hub at plant scale: ``plantbus up`` (one process per service, as it runs) on a
generated plant, its rate stepped until it no longer keeps up.

The plant: 100 machines in 10 lines, each machine one memory-driver device of 50
changing tags (5,000 tags: the protocol's cost is left to the protocol benchmarks), an
OEE mapping on every machine (state, cumulative parts counter), 1,000 alarm rules (10 per
machine, limits the values never reach, so every sample is judged and none floods).
``--tags 50000`` (1,000 machines in 50 lines) and ``--tags 500000`` (10,000 machines in
500 lines) run the same plant larger, from a slower first step, for the cost curve.
Beside it a probe machine on a Modbus device served from this process, whose state and
temperature the bench flips: the lag from a flipped sample's source time to the OEE
snapshot showing the new state and to the alarm it raises, as this process receives
them.

Each step applies the plant with a shorter poll interval (every 4 s, 2 s, then 1 Hz,
2 Hz, 4 Hz, 10 Hz: 1,250 to 50,000 samples/s offered; :data:`INTERVALS` for the larger
plants), waits for it to settle (every device polled once with it) and measures over at
least three polls: samples stored in PLANTBUS_CYCLES per second, the probe lags, CPU of every
hub process (nats-server included) per 1,000 samples stored, RSS per service, and the
messages nats-server took in and sent out per second, by connection (its ``/connz``:
which service's traffic the server's CPU goes to). The knee
is the last step that kept up: stored >= 90% of offered, lag p99 under a second and its
median not growing from the step's first half to its second. Stepping stops after the
first that did not.

Prints JSON: plant_samples_per_s (at the knee), plant_cpu_ms_per_1k_samples,
plant_lag_p99_ms (the worse of OEE and alarm), plant_oee_lag_p50_ms/p99, plant_alarm_lag_*,
plant_rss_mb_max, plant_rss_mb_<service>, plant_nats_msgs_in_per_s and
plant_nats_msgs_out_per_s (every client's, at the knee); every step's figures go to stderr.

``--steps N`` stops after N steps (a step of the 500,000-tag plant takes several
minutes).

``PLANT_SCALE_PROFILE=<dir>`` records a py-spy profile (raw, nonblocking, so the services
are never paused) of each service named in ``PLANT_SCALE_PROFILED`` (default: oee,
alerting) during every step's measurement, as ``<dir>/<service>-<interval>.txt``; for
``nats-server`` among them, the server's own CPU profile (Go's pprof, from its
``prof_port``) as ``<dir>/nats-server-<interval>.pprof`` (``go tool pprof -top``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from pymodbus.server import ModbusTcpServer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import cpu_seconds, last_seq, percentile, samples_between, started
from _scale_plant import SIZES, Probe, Size, write_plant

from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.kit.net import free_port

INTERVALS = {
    5_000: (4.0, 2.0, 1.0, 0.5, 0.25, 0.1),
    50_000: (10.0, 5.0, 2.0, 1.0, 0.5),
    500_000: (100.0, 50.0, 20.0, 10.0),
}
"""The poll intervals stepped through, by plant size: 1,250-5,000 samples/s first."""
SETTLE_S = 5.0
MEASURE_S = 12.0
FLIP_S = 0.8
CLI = (sys.executable, "-m", "plantbus.cli")
PROFILE_DIR = os.environ.get("PLANT_SCALE_PROFILE", "")
PROFILED = os.environ.get("PLANT_SCALE_PROFILED", "oee,alerting").split(",")


@dataclass
class Step:
    """What one rate did."""

    offered: float
    stored: float = 0.0
    cpu_ms_per_1k: float = 0.0
    oee_p50: float = 0.0
    oee_p99: float = 0.0
    alarm_p50: float = 0.0
    alarm_p99: float = 0.0
    growing: bool = False
    rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_1k_by_process: dict[str, float] = field(default_factory=dict)
    nats_msgs_per_s: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Connection name -> messages in and out per second, as nats-server counts them."""

    @property
    def kept_up(self) -> bool:
        worst = max(self.oee_p99, self.alarm_p99)
        return self.stored >= 0.9 * self.offered and worst < 1_000 and not self.growing


Counts = dict[str, tuple[int, int]]


def connections(monitor: str) -> Counts:
    """Connection name -> messages nats-server has taken in from and sent out to the
    connections of that name so far (its monitoring endpoint ``/connz``)."""
    with urllib.request.urlopen(f"{monitor}/connz?limit=4096", timeout=10) as reply:
        body = json.load(reply)
    out: Counts = {}
    for conn in body["connections"] or []:
        name = conn.get("name") or "(unnamed)"
        got, sent = out.get(name, (0, 0))
        out[name] = (got + conn["in_msgs"], sent + conn["out_msgs"])
    return out


def rates(before: Counts, after: Counts, seconds: float) -> dict[str, tuple[float, float]]:
    """Messages per second in and out by connection name between two :func:`connections`
    (a connection made again meanwhile counts from its new start)."""
    out: dict[str, tuple[float, float]] = {}
    for name, (got, sent) in sorted(after.items()):
        got0, sent0 = before.get(name, (0, 0))
        if got < got0 or sent < sent0:
            got0 = sent0 = 0
        out[name] = (round((got - got0) / seconds), round((sent - sent0) / seconds))
    return out


def hub_processes(up: subprocess.Popen[bytes], nats: NatsServer) -> dict[int, str]:
    """pid -> name of ``plantbus up``, everything it started, and the hub's nats-server."""
    assert nats.process is not None
    out = {up.pid: "up", nats.process.pid: "nats-server"}
    for child in psutil.Process(up.pid).children(recursive=True):
        try:
            cmd = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "nats-server" in cmd[0]:
            out[child.pid] = "nats-server"
        elif "run" in cmd:
            out[child.pid] = cmd[cmd.index("run") + 1]
    return out


def profile(
    pids: dict[int, str], interval: float, measure_s: float, hub: Hub
) -> list[subprocess.Popen[bytes]]:
    """py-spy recorders of the profiled services and nats-server's pprof for one
    measurement (none unless PLANT_SCALE_PROFILE names a directory)."""
    if not PROFILE_DIR:
        return []
    Path(PROFILE_DIR).mkdir(parents=True, exist_ok=True)
    recorders = []
    for pid, name in pids.items():
        if name in PROFILED:
            out = Path(PROFILE_DIR) / f"{name}-{interval}.txt"
            command = ["py-spy", "record", "--nonblocking", "-r", "50", "-f", "raw"]
            command += ["-d", str(int(measure_s)), "-o", str(out), "-p", str(pid)]
            if name == "nats-server":
                out = out.with_suffix(".pprof")
                url = f"{hub.nats_profile}/debug/pprof/profile?seconds={int(measure_s)}"
                command = ["curl", "-sf", "-o", str(out), url]
            recorders.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
    return recorders


def apply(data_dir: Path, directory: Path) -> None:
    """``plantbus config apply``: 16-120 s for this plant here, nearly all of it
    governance's line diff of the whole config (issue #21, item 4)."""
    done = subprocess.run(
        [*CLI, "config", "apply", str(directory), "-m", "bench step", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"config apply failed: {done.stdout[-500:]} {done.stderr[-500:]}")


@dataclass(frozen=True)
class Hub:
    """The hub under test and where it keeps its files."""

    up: subprocess.Popen[bytes]
    nats: NatsServer
    data_dir: Path
    probe_port: int
    size: Size
    nats_monitor: str
    """nats-server's monitoring endpoint (http://host:port)."""
    nats_profile: str
    """nats-server's profiling endpoint (http://host:port)."""


async def step(bus: Bus, hub: Hub, probe: Probe, interval: float) -> Step:
    plant = write_plant(hub.data_dir / f"plant-{interval}", hub.size, interval, hub.probe_port)
    apply(hub.data_dir, plant)
    result = Step(offered=hub.size.tags / interval)
    await asyncio.sleep(max(SETTLE_S, interval + 1))  # every device polled once anew
    pids = hub_processes(hub.up, hub.nats)
    seq, started = await last_seq(bus), time.time()
    cpu = {name: cpu_seconds([pid]) for pid, name in pids.items()}
    conns = connections(hub.nats_monitor)
    measure_s = max(MEASURE_S, 3 * interval)
    profilers = profile(pids, interval, measure_s, hub)
    rss: dict[str, float] = {}
    while time.time() < started + measure_s:
        probe.flip()
        for pid, name in pids.items():
            try:
                mb = psutil.Process(pid).memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                continue
            rss[name] = max(rss.get(name, 0.0), mb)
        await asyncio.sleep(FLIP_S)
    elapsed = time.time() - started
    count = await samples_between(bus, seq, await last_seq(bus))
    cpu = {name: cpu_seconds([pid]) - cpu[name] for pid, name in pids.items()}
    result.nats_msgs_per_s = rates(conns, connections(hub.nats_monitor), time.time() - started)
    for profiler in profilers:
        profiler.wait(30)
    await asyncio.sleep(2.0)  # effects of the last flips still on their way
    middle, end = started + elapsed / 2, started + elapsed
    oee_first, alarm_first = probe.lags(started, middle)
    oee_lags, alarm_lags = probe.lags(started, end)
    oee_second, alarm_second = probe.lags(middle, end)
    result.stored = count / elapsed
    result.cpu_ms_per_1k = 1e6 * sum(cpu.values()) / max(count, 1)
    result.cpu_ms_per_1k_by_process = {
        name: round(1e6 * seconds / max(count, 1), 1) for name, seconds in sorted(cpu.items())
    }
    result.oee_p50, result.oee_p99 = percentile(oee_lags, 50), percentile(oee_lags, 99)
    result.alarm_p50, result.alarm_p99 = percentile(alarm_lags, 50), percentile(alarm_lags, 99)
    first = percentile(oee_first + alarm_first, 50)
    second = percentile(oee_second + alarm_second, 50)
    result.growing = second > 2 * first + 200
    result.rss_mb = {k: round(v, 1) for k, v in sorted(rss.items())}
    print(f"[plant_scale] {result}", file=sys.stderr, flush=True)
    return result


def bus_server(data_dir: Path, monitor_port: int, profile_port: int) -> NatsServer:
    """The hub's nats-server, with room for the plant's config in one message, its
    monitoring endpoint on ``monitor_port`` and its profiling one on ``profile_port``.

    ``plantbus up`` stores a config version as one KV value; this plant's is about
    1.5 MB of JSON, over nats-server's default max_payload of 1 MB (issue #21, item 4),
    so the hub runs on this server (``--nats-url``) rather than its own.
    """
    config = data_dir / "nats.conf"
    store = data_dir / "nats" / "jetstream"
    config.write_text(
        f"max_payload: 8MB\nhttp: 127.0.0.1:{monitor_port}\nprof_port: {profile_port}\n"
        f"jetstream {{ store_dir: {json.dumps(str(store))} }}\n"
    )
    return NatsServer(store_dir=data_dir / "nats", config_file=config).start()


def start_hub(data_dir: Path, config: Path, nats_url: str, size: Size) -> subprocess.Popen[bytes]:
    ready_s = 180 + size.tags // 1_000  # every service validates the first config
    args = ["up", "--random-ports", "--no-sim", "--config", str(config), "--nats-url", nats_url]
    up = subprocess.Popen(
        [*CLI, *args, "--data-dir", str(data_dir), "--ready-timeout", str(ready_s)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started(up, data_dir, timeout_s=ready_s + 60, poll_s=0.5)
    return up


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, choices=sorted(SIZES), default=5_000)
    parser.add_argument(
        "--steps", type=int, default=0, help="stop after this many rate steps (0: all)"
    )
    options = parser.parse_args()
    tags = options.tags
    size = SIZES[tags]
    intervals = INTERVALS[tags][: options.steps or None]
    if tags >= 500_000:  # its config, 41 MB, is over gRPC's default limit for `config apply`
        os.environ.setdefault("PLANTBUS_GRPC_MAX_MESSAGE_BYTES", str(128 * 2**20))
    probe = Probe()
    server = ModbusTcpServer([probe.device()], address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    port = int(server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    steps: list[Step] = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        monitor_port, profile_port = free_port(), free_port()
        nats = bus_server(data_dir, monitor_port, profile_port)
        first = write_plant(data_dir / "plant-first", size, INTERVALS[tags][0], port)
        up = await asyncio.to_thread(start_hub, data_dir, first, nats.url, size)
        try:
            bus = await connect(NatsSettings(url=nats.url, name="bench-plant"))
            await probe.watch(bus)
            monitor, profiler = (f"http://127.0.0.1:{p}" for p in (monitor_port, profile_port))
            hub = Hub(up, nats, data_dir, port, size, monitor, profiler)
            for interval in intervals:
                steps.append(await step(bus, hub, probe, interval))
                if not steps[-1].kept_up:
                    break
            await bus.close()
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(90)
            nats.stop()
    await server.shutdown()  # type: ignore[no-untyped-call]
    kept = [s for s in steps if s.kept_up] or steps[:1]
    knee = max(kept, key=lambda s: s.stored)
    services: dict[str, float] = {}
    for each in steps:
        for name, mb in each.rss_mb.items():
            if name not in {"up", "nats-server"}:
                services[name] = max(services.get(name, 0.0), mb)
    figures: dict[str, Any] = {
        "plant_tags": size.tags,
        "plant_samples_per_s": round(knee.stored),
        "plant_cpu_ms_per_1k_samples": round(knee.cpu_ms_per_1k, 2),
        "plant_lag_p99_ms": round(max(knee.oee_p99, knee.alarm_p99), 1),
        "plant_oee_lag_p50_ms": round(knee.oee_p50, 1),
        "plant_oee_lag_p99_ms": round(knee.oee_p99, 1),
        "plant_alarm_lag_p50_ms": round(knee.alarm_p50, 1),
        "plant_alarm_lag_p99_ms": round(knee.alarm_p99, 1),
        "plant_rss_mb_max": round(max(services.values(), default=0.0), 1),
        **{f"plant_rss_mb_{k}": v for k, v in sorted(services.items())},
        "plant_nats_msgs_in_per_s": sum(got for got, _ in knee.nats_msgs_per_s.values()),
        "plant_nats_msgs_out_per_s": sum(sent for _, sent in knee.nats_msgs_per_s.values()),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
