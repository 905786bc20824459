"""Memory of the hub under load: RSS per service process (``plantbus up``) and of the
single-process hub (``plantbus up --single-process``).

Load: the simulated plant plus a publisher sending telemetry batches for 1,000 extra
tags at 10 Hz onto the bus, so OEE and alerting have work to do. Prints JSON:
``max_service_rss_mb``, ``single_process_rss_mb`` and the per-service figures.

And the device service at plant scale, alone in its process (bench/_device_host.py):
``device_rss_mb_50k_tags``, 1,000 memory devices of 50 changing tags polled at 1 Hz
(bench/plant_scale.py's plant at its largest), every sample into PLANTBUS_CYCLES,
with the RSS after its steps (``..._imported``, ``_config``, ``_running``).
``python bench/rss.py --device-only`` measures only that (15 s); with ``--reapply N``,
the same plant applied N more times after the first, every device's poll interval
changed each time (0.5 s, 1 s, 0.5 s, ...: past what the service keeps up with, as
bench/plant_scale.py steps its rate), every REAPPLY_EVERY_S: ``device_rss_mb_reapplied``
(the most RSS from a few seconds after an apply to the next, as plant_scale samples it;
``device_rss_mb_peak`` the process's peak, while two configs were alive), and the samples
stored and CPU-ms per 1,000 over the whole run (``device_reapplied_*``).

And every service of ``plantbus up`` (``--no-sim``) at plant scale: ``rss_mb_<service>_idle``
on an empty config, then ``rss_mb_<service>_50k_tags``, the peak over MEASURE_S from SETTLE_S after
``plantbus config apply`` of bench/plant_scale.py's plant at 50,000 tags (1,000 machines,
their OEE mappings, 10,000 alarm rules; polled every POLL_S) and ``plant_rss_mb_max``, the
largest. Then ``--reapply N`` (default REAPPLY) more applies of that plant, each with
one tag changed: ``rss_mb_<service>_reapplied``, the largest over REAPPLY_MEASURE_S from
SETTLE_S after each, and ``plant_rss_mb_reapplied_max`` (0: none). ``--against TREE``
measures the same on another checkout (main's) in the same run (first), its keys
prefixed ``against_``; ``--scale-only`` measures only this.
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
from pathlib import Path
from typing import Any

import psutil
import yaml
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))

import modbus_scale
from _hub import cpu_seconds, last_seq, nats_server, samples_between, started
from _scale_plant import SIZES, Probe, plant_files, write_plant
from config_scale import applied, cli
from modbus_scale import BENCH, measure, plant
from pymodbus.server import ModbusTcpServer

from plantbus.kit import natsconfig, subjects
from plantbus.kit.bus import NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.v1 import telemetry_pb2

LOAD_S = 15.0
TAGS = 1_000
POLL_S = 10.0
"""5,000 samples/s: about what the whole hub keeps up with on 2 cores (plant_scale)."""
SETTLE_S = 10.0
"""From the device service applying the plant to the measurement: the first polls, and
the apply's own transient, are over."""
MEASURE_S = 30.0
REAPPLY = 3
REAPPLY_MEASURE_S = 10.0
REAPPLY_EVERY_S = 8.0


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


async def device_reapplied(n: int) -> dict[str, float]:
    """The device service alone on 50,000 memory tags, applied ``n`` more times."""
    intervals = ",".join(("0.5", "1")[i % 2] for i in range(n))
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url, name="bench-rss"))
        path = tmp / "plant.json"
        path.write_text(json.dumps(memory_plant(1000, 50)))
        args = [str(BENCH / "_device_host.py"), str(path), server.url, str(tmp / "device")]
        args += ["--reapply", intervals, "--reapply-every", str(REAPPLY_EVERY_S)]
        with modbus_scale.child(*args) as dev:
            pid = dev.proc.pid
            first, cpu, started = await last_seq(bus), cpu_seconds([pid]), time.monotonic()
            await asyncio.sleep(REAPPLY_EVERY_S * (n + 1))
            last, elapsed = await last_seq(bus), time.monotonic() - started
            cpu = cpu_seconds([pid]) - cpu
        count = await samples_between(bus, first, last)
        await bus.close()
    totals = json.loads(dev.last)
    print(f"[rss] device re-applied {n} times: {dev.last}", file=sys.stderr)
    steps = {f"device_rss_mb_{k}": v for k, v in totals["rss_mb"].items()}
    return steps | {
        "device_rss_mb_reapplied": max(
            v for k, v in totals["rss_mb"].items() if k.startswith("reapplied_")
        ),
        "device_reapplied_samples_per_s": round(count / elapsed),
        "device_reapplied_cpu_ms_per_1k": round(1e6 * cpu / max(count, 1), 2),
        "device_reapplied_lost": totals["lost"] + totals["spool_dropped"],
    }


def tree_env(tree: Path | None) -> dict[str, str]:
    """This process's environment, with ``tree``'s services and plugins first on
    PYTHONPATH (as /work/wt/env.sh puts a worktree's; None: unchanged)."""
    env = dict(os.environ)
    if tree is not None:
        paths = [tree / "services", *sorted(p for p in (tree / "plugins").iterdir() if p.is_dir())]
        env["PYTHONPATH"] = os.pathsep.join(map(str, paths))
    return env


def service_rss(up: subprocess.Popen[bytes]) -> dict[str, float]:
    """RSS (MB) of each ``plantbus run <service>`` process of the hub ``up``."""
    out: dict[str, float] = {}
    for child in psutil.Process(up.pid).children(recursive=True):
        try:
            cmd = child.cmdline()
            if "run" in cmd:
                out[cmd[cmd.index("run") + 1]] = child.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return out


def peaks(up: subprocess.Popen[bytes], seconds: float) -> dict[str, float]:
    """Each service's largest RSS over ``seconds``, sampled every half second."""
    out: dict[str, float] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name, mb in service_rss(up).items():
            out[name] = max(out.get(name, 0.0), mb)
        time.sleep(0.5)
    return out


def start_idle(data: Path, config: Path, tree: Path | None) -> subprocess.Popen[bytes]:
    """``plantbus up --no-sim`` of ``tree``'s code on ``config``, once it is ready."""
    command = [sys.executable, "-m", "plantbus.cli", "up", "--random-ports", "--no-sim"]
    command += ["--config", str(config), "--data-dir", str(data), "--ready-timeout", "300"]
    env = tree_env(tree)
    up = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started(up, data, timeout_s=300, poll_s=0.2)
    return up


def change_one_tag(plant: Path, port: int, scale: float) -> None:
    """The plant written at ``plant`` again, tag t0 of its first device scaled by ``scale``."""
    devices = plant_files(SIZES[50_000], POLL_S, port)["devices.yaml"]
    devices["devices"][0]["tags"][2]["scale"] = scale
    (plant / "devices.yaml").write_text(yaml.safe_dump(devices, sort_keys=False))


async def reapplied(
    up: subprocess.Popen[bytes], data: Path, plant: Path, port: int, n: int
) -> dict[str, float]:
    """Each service's largest RSS over ``n`` more applies of ``plant`` (version 2 is
    running), one tag changed in each."""
    out: dict[str, float] = {}
    for i in range(1, n + 1):
        await asyncio.to_thread(change_one_tag, plant, port, 1.0 + i)
        await asyncio.to_thread(cli, data, "config", "apply", str(plant))
        await asyncio.to_thread(applied, data, 2 + i, timeout_s=300)
        await asyncio.sleep(SETTLE_S)
        for name, mb in (await asyncio.to_thread(peaks, up, REAPPLY_MEASURE_S)).items():
            out[name] = max(out.get(name, 0.0), mb)
    return out


async def hub_at_scale(tree: Path | None, reapply: int = 0) -> dict[str, float]:
    """Every service of ``plantbus up`` (``tree``'s code) idle, then at 50,000 tags, then
    over ``reapply`` more applies."""
    probe = Probe()
    server = ModbusTcpServer([probe.device()], address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    port = int(server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        data, empty = Path(tmp) / "hub", Path(tmp) / "empty"
        empty.mkdir()
        (empty / "plant.yaml").write_text("sites: []\n")
        big = write_plant(Path(tmp) / "big", SIZES[50_000], POLL_S, port)
        up = await asyncio.to_thread(start_idle, data, empty, tree)
        try:
            idle = await asyncio.to_thread(peaks, up, 5.0)
            await asyncio.to_thread(cli, data, "config", "apply", str(big))
            await asyncio.to_thread(applied, data, 2, timeout_s=300)
            await asyncio.sleep(SETTLE_S)
            loaded = await asyncio.to_thread(peaks, up, MEASURE_S)
            again = await reapplied(up, data, big, port, reapply)
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(90)
    await server.shutdown()  # type: ignore[no-untyped-call]
    out = {f"rss_mb_{k}_idle": round(v, 1) for k, v in sorted(idle.items())}
    out |= {f"rss_mb_{k}_50k_tags": round(v, 1) for k, v in sorted(loaded.items())}
    out["plant_rss_mb_max"] = round(max(loaded.values(), default=0.0), 1)
    out |= {f"rss_mb_{k}_reapplied": round(v, 1) for k, v in sorted(again.items())}
    out["plant_rss_mb_reapplied_max"] = round(max(again.values(), default=0.0), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device-only", action="store_true", help="only device_rss_mb_50k_tags")
    parser.add_argument("--scale-only", action="store_true", help="only the hub at 50,000 tags")
    parser.add_argument("--against", type=Path, help="also measure this checkout (main's)")
    parser.add_argument(
        "--reapply", type=int, default=REAPPLY, help="applies of the plant after the first"
    )
    args = parser.parse_args()
    if args.scale_only or args.against:
        out: dict[str, float] = {}
        if args.against:
            against = asyncio.run(hub_at_scale(args.against.resolve(), args.reapply))
            out |= {f"against_{k}": v for k, v in against.items()}
        print(json.dumps(asyncio.run(hub_at_scale(None, args.reapply)) | out))
        return
    if args.device_only and "--reapply" in sys.argv:
        print(json.dumps(asyncio.run(device_reapplied(args.reapply))))
        return
    at_scale = asyncio.run(device_at_scale())
    if args.device_only:
        print(json.dumps(at_scale))
        return
    per_service = hub_rss(single=False)
    services = {k: v for k, v in per_service.items() if k != "sim"}
    single = hub_rss(single=True)
    out = {f"rss_mb_{k}": round(v, 1) for k, v in sorted(services.items())}
    out["max_service_rss_mb"] = round(max(services.values(), default=0.0), 1)
    out["single_process_rss_mb"] = round(single.get("all", 0.0), 1)
    print(json.dumps(out | at_scale | asyncio.run(hub_at_scale(None, args.reapply))))


if __name__ == "__main__":
    main()
