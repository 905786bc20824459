"""Shared bench plumbing: a throwaway nats-server, a started hub, percentiles, CPU time of
processes, the samples the telemetry stream holds."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from nats.js.api import ConsumerConfig, DeliverPolicy

from plantbus.device.wire import samples_in
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.natsserver import NatsServer


@contextmanager
def nats_server() -> Iterator[tuple[NatsServer, Path]]:
    """A nats-server with JetStream in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(store_dir=Path(tmp) / "nats").start()
        try:
            yield server, Path(tmp)
        finally:
            server.stop()


def started(
    up: subprocess.Popen[bytes], data_dir: Path, *, timeout_s: float, poll_s: float
) -> dict[str, object]:
    """The runtime file of the ``plantbus up`` process ``up`` once it wrote it (its
    services are ready); SystemExit when ``up`` ends first or takes over ``timeout_s``."""
    runtime = data_dir / "runtime.json"
    deadline = time.monotonic() + timeout_s
    while not runtime.exists():
        if up.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"hub did not start (see {data_dir / 'logs'})")
        time.sleep(poll_s)
    loaded: dict[str, object] = json.loads(runtime.read_text())
    return loaded


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def median(values: Iterable[float]) -> float:
    """The median (0 for none)."""
    listed = list(values)
    return statistics.median(listed) if listed else 0.0


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` (gone ones count 0).

    CPU time, not wall time: this machine is shared, so a rate in wall time measures the
    neighbours as much as the code; the CPU a piece of work takes does not depend on them.
    """
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def runqueue_wait_s(pid: int) -> float:
    """Seconds the main thread of ``pid`` has waited, runnable, for a CPU (Linux
    schedstat; 0 where there is none): on a shared machine, the part of any lateness that
    the neighbours caused."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def last_seq(bus: Bus) -> int:
    """The telemetry stream's last sequence: one stored message per device cycle."""
    return int((await bus.js.stream_info(streams.CYCLES.name)).state.last_seq)


async def stored_samples(bus: Bus, after: int = 0) -> tuple[int, int]:
    """The samples the telemetry stream stores after sequence ``after``, once it stopped
    growing (a server stores what it accepted a little later), and its last sequence."""
    last = -1
    while (now := await last_seq(bus)) != last:
        last = now
        await asyncio.sleep(0.3)
    return await samples_between(bus, after, last), last


async def samples_between(bus: Bus, after: int, last: int) -> int:
    """The samples of the telemetry stream's messages after sequence ``after`` up to
    ``last``: a stored message is one device cycle, so they are counted by reading it."""
    if last <= after:
        return 0
    sub = await bus.js.subscribe(
        streams.CYCLES.subjects[0],
        stream=streams.CYCLES.name,
        ordered_consumer=True,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1
        ),
    )
    count, seq = 0, after
    try:
        while seq < last:
            msg = await sub.next_msg(timeout=10)
            seq = msg.metadata.sequence.stream
            if seq <= last:
                count += samples_in(msg.data)
    finally:
        await sub.unsubscribe()
    return count
