"""The whole hub at plant scale: ``plantbus up`` (one process per service, as it runs) on a
generated plant, its rate stepped until it no longer keeps up.

The plant: 100 machines in 10 lines, each machine one memory-driver device of 50
changing tags (5,000 tags: the protocol's cost is left to the protocol benchmarks), an
OEE mapping on every machine (state, cumulative parts counter), 1,000 alarm rules (10 per
machine, limits the values never reach, so every sample is judged and none floods).
Beside it a probe machine on a Modbus device served from this process, whose state and
temperature the bench flips: the lag from a flipped sample's source time to the OEE
snapshot showing the new state and to the alarm it raises, as this process receives
them.

Each step applies the plant with a shorter poll interval (every 4 s, 2 s, then 1 Hz,
2 Hz, 4 Hz, 10 Hz: 1,250 to 50,000 samples/s offered), waits for it to settle and
measures: samples stored in PLANTBUS_TELEMETRY per second, the probe lags, CPU of every
hub process (nats-server included) per 1,000 samples stored, RSS per service. The knee
is the last step that kept up: stored >= 90% of offered, lag p99 under a second and its
median not growing from the step's first half to its second. Stepping stops after the
first that did not.

Prints JSON: plant_samples_per_s (at the knee), plant_cpu_ms_per_1k_samples,
plant_lag_p99_ms (the worse of OEE and alarm), plant_oee_lag_p50_ms/p99, plant_alarm_lag_*,
plant_rss_mb_max, plant_rss_mb_<service>; every step's figures go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import cpu_seconds, percentile

from plantbus.kit import streams
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.kit.natsserver import NatsServer
from plantbus.v1 import alerting_pb2, oee_pb2

LINES, MACHINES, TAGS = 10, 10, 50
RULES_PER_MACHINE = 10
INTERVALS = (4.0, 2.0, 1.0, 0.5, 0.25, 0.1)
SETTLE_S = 5.0
MEASURE_S = 12.0
FLIP_S = 0.8
PROBE = "p/a/l0/probe"
CLI = (sys.executable, "-m", "plantbus.cli")
SHIFTS = [
    {"name": "early", "start": "06:00", "end": "14:00"},
    {"name": "late", "start": "14:00", "end": "22:00"},
    {"name": "night", "start": "22:00", "end": "06:00"},
]


def machines() -> list[tuple[str, str]]:
    """(line path, machine name) of every generated machine."""
    return [(f"p/a/l{line}", f"m{m}") for line in range(LINES) for m in range(MACHINES)]


def plant_files(interval_s: float, probe_port: int) -> dict[str, Any]:
    """The plant config, one document per file as ``plantbus config apply`` reads it."""
    lines: list[dict[str, Any]] = [
        {"name": f"l{line}", "machines": [{"name": f"m{m}"} for m in range(MACHINES)]}
        for line in range(LINES)
    ]
    lines[0]["machines"].append({"name": "probe"})
    devices = [
        {
            "name": f"{line.split('/')[-1]}-{m}",
            "driver": "memory",
            "endpoint": f"memory://{line}/{m}",
            "machine": f"{line}/{m}",
            "poll_interval_s": interval_s,
            "settings": {"changing": True},
            "tags": [
                {"name": "state", "address": "state", "data_type": "bool"},
                {"name": "parts", "address": "parts", "data_type": "uint32"},
                *(
                    {"name": f"t{i}", "address": f"t{i}", "data_type": "float64"}
                    for i in range(TAGS - 2)
                ),
            ],
        }
        for line, m in machines()
    ]
    devices.append(
        {
            "name": "probe",
            "driver": "modbus",
            "endpoint": f"modbus://127.0.0.1:{probe_port}",
            "machine": PROBE,
            "poll_interval_s": 0.1,
            "tags": [
                {"name": "state", "address": "holding:0", "data_type": "uint16"},
                {"name": "temp", "address": "holding:1", "data_type": "uint16"},
            ],
        }
    )
    oee = [
        {
            "machine": f"{line}/{m}",
            "state_tag": "state",
            "states": [
                {"value": False, "state": "running"},
                {"value": True, "state": "stopped", "reason": "fault"},
            ],
            "total_tag": "parts",
            "counter_mode": "cumulative",
            "ideal_cycle_time_s": 1.0,
        }
        for line, m in machines()
    ]
    oee.append(
        {
            "machine": PROBE,
            "state_tag": "state",
            "states": [{"value": 1, "state": "running"}, {"value": 2, "state": "stopped"}],
        }
    )
    rules = [
        {
            "name": f"high_t{i}",
            "kind": "high",
            "machine": f"{line}/{m}",
            "tag": f"t{i}",
            "limit": 1e12,
            "priority": "low",
        }
        for line, m in machines()
        for i in range(RULES_PER_MACHINE)
    ]
    rules.append(
        {"name": "probe_hot", "kind": "high", "machine": PROBE, "tag": "temp", "limit": 50}
    )
    return {
        "plant.yaml": {
            "sites": [{"name": "p", "areas": [{"name": "a", "lines": lines}]}],
            "roles": [{"name": "admin", "permissions": ["config.apply"]}],
            "users": [{"name": "admin", "roles": ["admin"]}],
        },
        "devices.yaml": {"devices": devices},
        "oee.yaml": {
            "oee": oee,
            "shift_calendars": [
                {
                    "name": "day",
                    "timezone": "UTC",
                    "lines": [f"p/a/l{line}" for line in range(LINES)],
                    "shifts": SHIFTS,
                }
            ],
        },
        "alerts.yaml": {"alert_rules": rules},
    }


def write_plant(directory: Path, interval_s: float, probe_port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, document in plant_files(interval_s, probe_port).items():
        (directory / name).write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


class Probe:
    """The probe machine's Modbus registers, flipped by the bench, and what came of it."""

    def __init__(self) -> None:
        self.state, self.temp = 1, 40
        self.flips: list[float] = []
        self.samples: dict[str, list[tuple[float, int]]] = {"state": [], "temp": []}
        """(source time, value) of the probe's samples."""
        self.oee: list[tuple[float, str]] = []
        """(arrival, state) of the probe's OEE snapshots."""
        self.alarms: list[float] = []
        """Arrival of the probe's alarm becoming active."""

    async def action(
        self,
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        registers[0:2] = [self.state, self.temp]

    def device(self) -> SimDevice:
        regs = [SimData(0, count=16, values=0, datatype=DataType.REGISTERS)]
        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        return SimDevice(1, simdata=(bits, bits, regs, regs), action=self.action)

    def flip(self) -> None:
        self.state = 2 if self.state == 1 else 1
        self.temp = 60 if self.temp == 40 else 40
        self.flips.append(time.time())

    async def watch(self, bus: Bus) -> None:
        async def on_sample(subject: str, msg: Any, raw: Any) -> None:
            for s in msg.samples:
                tag = s.path.rsplit("/", 1)[1]
                self.samples[tag].append((s.source_time.ToNanoseconds() / 1e9, s.value.int_value))

        async def on_oee(subject: str, msg: Any, raw: Any) -> None:
            if isinstance(msg, oee_pb2.OeeSnapshot) and msg.scope == PROBE:
                self.oee.append((time.time(), msg.state))

        async def on_alarm(subject: str, msg: Any, raw: Any) -> None:
            if isinstance(msg, alerting_pb2.AlarmEvent) and msg.rule == "probe_hot" and msg.active:
                self.alarms.append(time.time())

        await bus.subscribe("plantbus.v1.telemetry.p.a.l0.probe.*", on_sample)
        await bus.subscribe("plantbus.v1.oee.p.a.l0.probe", on_oee)
        await bus.subscribe("plantbus.v1.alarm.p.a.l0.probe.>", on_alarm)

    def lags(self, since: float, until: float) -> tuple[list[float], list[float]]:
        """Lags (ms) from each flip's first sample to its OEE state and to its alarm, for
        flips in [since, until); a flip whose effect never came counts as the step's length."""
        oee_lags, alarm_lags = [], []
        for flip in (f for f in self.flips if since <= f < until):
            state = next((v for t, v in self.samples["state"] if t >= flip), None)
            source = next((t for t, v in self.samples["state"] if t >= flip), None)
            if source is None or state is None:
                oee_lags.append((until - flip) * 1e3)
                continue
            want = "running" if state == 1 else "stopped"
            seen = next((t for t, s in self.oee if t >= source and s == want), None)
            oee_lags.append(((seen or until) - source) * 1e3)
            hot = next(((t, v) for t, v in self.samples["temp"] if t >= flip), None)
            if hot is not None and hot[1] == 60:
                raised = next((t for t in self.alarms if t >= hot[0]), None)
                alarm_lags.append(((raised or until) - hot[0]) * 1e3)
        return oee_lags, alarm_lags


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

    @property
    def kept_up(self) -> bool:
        worst = max(self.oee_p99, self.alarm_p99)
        return self.stored >= 0.9 * self.offered and worst < 1_000 and not self.growing


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


async def stored(bus: Bus) -> int:
    return int((await bus.js.stream_info(streams.TELEMETRY.name)).state.messages)


@dataclass(frozen=True)
class Hub:
    """The hub under test and where it keeps its files."""

    up: subprocess.Popen[bytes]
    nats: NatsServer
    data_dir: Path
    probe_port: int


async def step(bus: Bus, hub: Hub, probe: Probe, interval: float) -> Step:
    plant = write_plant(hub.data_dir / f"plant-{interval}", interval, hub.probe_port)
    apply(hub.data_dir, plant)
    result = Step(offered=len(machines()) * TAGS / interval)
    await asyncio.sleep(SETTLE_S)
    pids = hub_processes(hub.up, hub.nats)
    count, started = await stored(bus), time.time()
    cpu = {name: cpu_seconds([pid]) for pid, name in pids.items()}
    rss: dict[str, float] = {}
    while time.time() < started + MEASURE_S:
        probe.flip()
        for pid, name in pids.items():
            try:
                mb = psutil.Process(pid).memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                continue
            rss[name] = max(rss.get(name, 0.0), mb)
        await asyncio.sleep(FLIP_S)
    elapsed = time.time() - started
    count = await stored(bus) - count
    cpu = {name: cpu_seconds([pid]) - cpu[name] for pid, name in pids.items()}
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


def bus_server(data_dir: Path) -> NatsServer:
    """The hub's nats-server, with room for the plant's config in one message.

    ``plantbus up`` stores a config version as one KV value; this plant's is about
    1.5 MB of JSON, over nats-server's default max_payload of 1 MB (issue #21, item 4),
    so the hub runs on this server (``--nats-url``) rather than its own.
    """
    config = data_dir / "nats.conf"
    store = data_dir / "nats" / "jetstream"
    config.write_text(f"max_payload: 8MB\njetstream {{ store_dir: {json.dumps(str(store))} }}\n")
    return NatsServer(store_dir=data_dir / "nats", config_file=config).start()


def start_hub(data_dir: Path, config: Path, nats_url: str) -> subprocess.Popen[bytes]:
    args = ["up", "--random-ports", "--no-sim", "--config", str(config), "--nats-url", nats_url]
    up = subprocess.Popen(
        [*CLI, *args, "--data-dir", str(data_dir), "--ready-timeout", "180"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runtime = data_dir / "runtime.json"
    deadline = time.monotonic() + 240
    while not runtime.exists():
        if up.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"hub did not start (see {data_dir / 'logs'})")
        time.sleep(0.5)
    return up


async def main() -> None:
    probe = Probe()
    server = ModbusTcpServer([probe.device()], address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    port = int(server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    steps: list[Step] = []
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        nats = bus_server(data_dir)
        first = write_plant(data_dir / "plant-first", INTERVALS[0], port)
        up = await asyncio.to_thread(start_hub, data_dir, first, nats.url)
        try:
            bus = await connect(NatsSettings(url=nats.url, name="bench-plant"))
            await probe.watch(bus)
            for interval in INTERVALS:
                steps.append(await step(bus, Hub(up, nats, data_dir, port), probe, interval))
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
        "plant_tags": len(machines()) * TAGS,
        "plant_samples_per_s": round(knee.stored),
        "plant_cpu_ms_per_1k_samples": round(knee.cpu_ms_per_1k, 2),
        "plant_lag_p99_ms": round(max(knee.oee_p99, knee.alarm_p99), 1),
        "plant_oee_lag_p50_ms": round(knee.oee_p50, 1),
        "plant_oee_lag_p99_ms": round(knee.oee_p99, 1),
        "plant_alarm_lag_p50_ms": round(knee.alarm_p50, 1),
        "plant_alarm_lag_p99_ms": round(knee.alarm_p99, 1),
        "plant_rss_mb_max": round(max(services.values(), default=0.0), 1),
        **{f"plant_rss_mb_{k}": v for k, v in sorted(services.items())},
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
