"""The historian service's CPU per 1,000 samples stored, by how it is fed
(``python bench/historian.py --feed``).

The service runs alone in a child process (``python bench/historian_feed.py host``: the
same ``HistorianService`` that ``plantbus run historian`` hosts, its default section, the
embedded SQLite store) on a throw-away nats-server; this process publishes telemetry as
the device service stores it (one message per device cycle of 50 tags on its cycle
subject, with its headers and framing) and reads how far the historian
has acknowledged (it acknowledges only what it committed).

- backlog: the stream pre-filled with ``BACKLOG`` samples, the historian started, its CPU
  from the start until it has stored them all;
- live: then, caught up, ``RATE`` samples/s in cycles of 50 samples of one device after
  another over ``DEVICES`` devices (100; plant scale: ``HISTORIAN_FEED_DEVICES=1000
  HISTORIAN_FEED_RATE=25000``), for ``LIVE_S`` seconds after a settling second; its CPU over
  that window, and the lag from a cycle's publish to the historian's commit of it (the
  stored-row lag; polled every 20 ms, so up to 20 ms too high).

Prints JSON: historian_cpu_ms_per_1k_backlog, historian_cpu_ms_per_1k_live,
historian_live_samples_per_s, historian_live_lag_p50_ms, historian_live_lag_p99_ms,
historian_live_event_loop_share (of that CPU, the event loop's thread's: NATS, decoding,
rows; the rest is the store's writing thread),
historian_rss_peak_mb_backlog and _live (the process's peak RSS in each phase, sampled
every 20 ms), historian_feed_load_avg (the machine's 1-minute load average at the end: the run's
context, as every CPU figure here is per sample, not per second).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil
from _hub import cpu_seconds, nats_server, percentile
from nats.js.errors import NotFoundError

from plantbus.device.wire import TagCodec, batches, frames, timestamps, write
from plantbus.kit import streams
from plantbus.kit.bus import Bus, NatsSettings
from plantbus.kit.natsconnect import connect
from plantbus.sdk.driver import Quality
from plantbus.testing.waiting import wait_until

DEVICES = int(os.environ.get("HISTORIAN_FEED_DEVICES", "100"))
TAGS = 50
BACKLOG = int(os.environ.get("HISTORIAN_FEED_BACKLOG", "50000"))
RATE = int(os.environ.get("HISTORIAN_FEED_RATE", "5000"))
LIVE_S = float(os.environ.get("HISTORIAN_FEED_LIVE_S", "20"))
SETTLE_S = 1.0
POLL_S = 0.02
DURABLE = "historian-telemetry"
PROFILE_DIR = os.environ.get("HISTORIAN_FEED_PROFILE", "")


class Profile:
    """py-spy on ``pid`` (raw, nonblocking) into ``PROFILE_DIR/<phase>.txt`` while open,
    when PROFILE_DIR is set."""

    def __init__(self, pid: int, phase: str) -> None:
        self.args = ["py-spy", "record", "--nonblocking", "--threads", "-f", "raw", "-r", "200"]
        self.args += ["-p", str(pid), "-o", str(Path(PROFILE_DIR) / f"{phase}.txt")]
        self.spy: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> None:
        if PROFILE_DIR:
            self.spy = subprocess.Popen(self.args, stdout=subprocess.DEVNULL)

    def __exit__(self, *_: object) -> None:
        if self.spy is not None:
            self.spy.send_signal(signal.SIGINT)
            self.spy.wait(timeout=30)


class PeakRss:
    """The peak RSS of ``pid`` in MB while open, sampled every ``POLL_S``."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss / 2**20)
            await asyncio.sleep(POLL_S)

    async def __aenter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Plant:
    """The devices' tag codecs and a cycle counter: one device's 50 messages a cycle."""

    def __init__(self) -> None:
        self.codecs = [
            [TagCodec(f"bench/a/l{d % 10}/m{d}/tag{t}", "", f"m{d}", "bench") for t in range(TAGS)]
            for d in range(DEVICES)
        ]
        self.cycle = 0

    def next_cycle(self) -> bytes:
        """The frames of the next device's cycle, stamped now: one stored message."""
        device, n = self.cycle % DEVICES, self.cycle // DEVICES
        self.cycle += 1
        now = time.time_ns()
        stamp = _timestamp(now)
        times = timestamps(stamp, stamp)
        records = [
            codec.record(50.0 + (n + t) % 37 * 0.25, Quality.GOOD, "", n, times)
            for t, codec in enumerate(self.codecs[device])
        ]
        return frames(batches(records, 1 << 20), 1 << 20)


def _timestamp(ns: int) -> bytes:
    from google.protobuf.timestamp_pb2 import Timestamp

    ts = Timestamp()
    ts.FromNanoseconds(ns)
    return ts.SerializeToString()


async def acked(bus: Bus) -> int:
    """The samples up to the last stream sequence the historian acknowledged (0 before
    its consumer): every message is one cycle of TAGS samples."""
    try:
        info = await bus.js.consumer_info(streams.CYCLES.name, DURABLE)
    except NotFoundError:
        return 0
    return int(info.ack_floor.stream_seq) * TAGS


async def until_acked(bus: Bus, seq: int, timeout_s: float) -> None:
    async def reached() -> bool:
        return await acked(bus) >= seq

    stored: bool = await wait_until(reached, timeout_s, POLL_S, f"the historian storing {seq}")
    assert stored


async def backlog(bus: Bus, plant: Plant, host: subprocess.Popen[str]) -> float:
    """CPU-ms per 1,000 samples for the pre-filled stream."""
    for _ in range(BACKLOG // TAGS):
        await write(bus.nc, plant.next_cycle())
    await bus.nc.flush()
    await until_stream(bus, BACKLOG)
    before = cpu_seconds([host.pid])
    assert host.stdin is not None
    with Profile(host.pid, "backlog"):
        host.stdin.write("go\n")
        host.stdin.flush()
        await until_acked(bus, BACKLOG, 300.0)
    return (cpu_seconds([host.pid]) - before) * 1e6 / BACKLOG


async def until_stream(bus: Bus, count: int) -> None:
    async def holds() -> bool:
        return (await bus.js.stream_info(streams.CYCLES.name)).state.messages * TAGS >= count

    held: bool = await wait_until(holds, 60.0, POLL_S, f"the stream holding {count}")
    assert held


async def live(bus: Bus, plant: Plant, pid: int) -> dict[str, float]:
    """Cycles at RATE samples/s; CPU, rate and lag over LIVE_S after SETTLE_S."""
    sent: list[tuple[int, float]] = []  # (last sequence of a cycle, when it was sent)
    acks: list[tuple[float, int]] = []
    seq = BACKLOG
    stop = asyncio.Event()

    async def poll() -> None:
        while not stop.is_set():
            acks.append((time.monotonic(), await acked(bus)))
            await asyncio.sleep(POLL_S)

    poller = asyncio.create_task(poll())
    period = TAGS / RATE
    start = next_at = time.monotonic()
    window: tuple[float, int, float, float] | None = None
    while next_at < start + SETTLE_S + LIVE_S:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if window is None and next_at >= start + SETTLE_S:
            window = (time.monotonic(), await acked(bus), cpu_seconds([pid]), main_cpu(pid))
        await write(bus.nc, plant.next_cycle())
        seq += TAGS
        sent.append((seq, time.monotonic()))
        next_at += period
    assert window is not None
    began, first, cpu0, main0 = window
    ended, last, cpu1, main1 = time.monotonic(), await acked(bus), cpu_seconds([pid]), main_cpu(pid)
    await until_acked(bus, seq, 30.0)
    stop.set()
    await poller
    stored = last - first
    lags = _lags(sent, acks, began)
    return {
        "historian_cpu_ms_per_1k_live": round((cpu1 - cpu0) * 1e6 / max(stored, 1), 1),
        "historian_live_event_loop_share": round((main1 - main0) / max(cpu1 - cpu0, 1e-9), 2),
        "historian_live_samples_per_s": round(stored / (ended - began)),
        "historian_live_lag_p50_ms": round(percentile(lags, 50), 1),
        "historian_live_lag_p99_ms": round(percentile(lags, 99), 1),
    }


def main_cpu(pid: int) -> float:
    """CPU seconds of the event loop's thread of ``pid`` (the rest is the store's threads)."""
    thread = next(t for t in psutil.Process(pid).threads() if t.id == pid)
    return float(thread.user_time + thread.system_time)


def _lags(
    sent: list[tuple[int, float]], acks: list[tuple[float, int]], since: float
) -> list[float]:
    """Per cycle sent after ``since``: ms from its send to the first poll that saw it
    acknowledged."""
    floors = [floor for _, floor in acks]
    out = []
    for seq, at in sent:
        if at < since:
            continue
        i = bisect.bisect_left(floors, seq)
        if i < len(acks):
            out.append((acks[i][0] - at) * 1000)
    return out


def start_host(nats_url: str, data_dir: Path) -> subprocess.Popen[str]:
    """The historian's process (it waits for ``go``)."""
    return subprocess.Popen(
        [sys.executable, __file__, "host", nats_url, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


async def main() -> dict[str, Any]:
    with nats_server() as (server, tmp):
        bus = await connect(NatsSettings(url=server.url, name="bench-feed"))
        await streams.ensure_stream(bus, streams.CYCLES)
        host = start_host(server.url, tmp / "historian")
        try:
            assert host.stdout is not None
            if host.stdout.readline().strip() != "ready":
                raise SystemExit("the historian host did not start")
            plant = Plant()
            async with PeakRss(host.pid) as rss:
                cpu = await backlog(bus, plant, host)
            figures: dict[str, Any] = {
                "historian_cpu_ms_per_1k_backlog": round(cpu, 1),
                "historian_rss_peak_mb_backlog": round(rss.peak, 1),
            }
            with Profile(host.pid, "live"):
                async with PeakRss(host.pid) as rss:
                    figures |= await live(bus, plant, host.pid)
            figures["historian_rss_peak_mb_live"] = round(rss.peak, 1)
        finally:
            host.communicate(timeout=60)
            await bus.close()
    figures["historian_feed_load_avg"] = round(os.getloadavg()[0], 1)
    return figures


async def _host(nats_url: str, data_dir: Path) -> None:
    """The historian alone in this process; starts on ``go`` from stdin, stops at its end."""
    from plantbus.historian.service import HistorianService
    from plantbus.kit.service import ServiceContext

    async def no_audit(**_: Any) -> None:
        return None

    bus = await connect(NatsSettings(url=nats_url, name="bench-historian"))
    service = HistorianService(ServiceContext("historian", "bench", bus, data_dir, no_audit))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    await service.start()
    await loop.run_in_executor(None, sys.stdin.read)
    await service.stop()
    await bus.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["host"]:
        asyncio.run(_host(sys.argv[2], Path(sys.argv[3])))
    else:
        print(json.dumps(asyncio.run(main())))
