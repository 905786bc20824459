"""The historian under faults, counting what a plant cares about: every sample and every
event stored exactly once.

- SIGKILLed again and again while telemetry and events pour in (the historian alone in a
  subprocess, `plantbus run historian`, against a real nats-server);
- its store's disk full (a real tmpfs when this host can mount one, else a store whose
  writes fail as a full disk's do): ingest pauses, health says why, the messages wait in
  their streams, and it catches up when space returns.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from plantbus_sqlite.store import SqliteStore

from plantbus.historian.service import HistorianService
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.kit.natsserver import NatsServer
from plantbus.sdk.historian import StoreFull
from plantbus.testing.config import put_config, write_test_keys
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from tests.disk import small_disk
from tests.historian import publish_events, publish_samples

T0 = (time.time_ns() // 1000 - 2 * 3600 * 10**6) // 60_000_000 * 60_000_000
TAGS = [f"s/a/l/m{i}/temp" for i in range(10)]


async def _stream_ends(bus: Bus) -> dict[str, int]:
    return {
        spec.name: (await bus.js.stream_info(spec.name)).state.last_seq
        for spec in (streams.CYCLES, streams.EVENTS)
    }


def _positions(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        try:
            return dict(conn.execute("SELECT stream, seq FROM positions"))
        except sqlite3.OperationalError:  # not created yet
            return {}


def _stored(db: Path) -> tuple[list[tuple[str, int]], int]:
    """(tag, time) of every stored sample, and the number of stored events."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        samples = conn.execute(
            "SELECT tags.path, samples.t FROM samples JOIN tags ON tags.id = samples.tag"
        ).fetchall()
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    return samples, events


def _start(nats_url: str, data: Path) -> subprocess.Popen[bytes]:
    """`plantbus run historian` on plaintext loopback gRPC (the test calls no RPC),
    checking config versions with the test key."""
    _, public = write_test_keys(data / "keys")
    env = {**os.environ, "PLANTBUS_CONFIG_PUBKEY": str(public)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "plantbus.cli",
            "run",
            "historian",
            "--nats-url",
            nats_url,
            "--data-dir",
            str(data),
            "--grpc-port",
            "0",
            "--insecure",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
async def test_sigkill_under_load_stores_every_row_once(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    historian_dir = tmp_path / "hub"
    await streams.ensure_stream(bus, streams.CYCLES)
    await streams.ensure_stream(bus, streams.EVENTS)
    await put_config(bus, {"historian": {"oee_every_s": 0}})  # every snapshot counts
    db = historian_dir / "services" / "historian" / "historian.sqlite"
    proc = _start(nats_server.url, historian_dir)
    expected: list[tuple[str, int]] = []
    events = 0
    kills = 0
    try:
        for second in range(40):
            times = [T0 + (second * 50 + i) * 100_000 for i in range(50)]
            for tag in TAGS:
                await publish_samples(bus, tag, times)
                expected.extend((tag, t) for t in times)
            await publish_events(bus, T0 + second * 10_000)
            events += 5
            if second % 8 == 4:  # a kill every few batches, mid-write or between writes
                await wait_until(lambda: _positions(db), timeout=30)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                kills += 1
                proc = _start(nats_server.url, historian_dir)
            await asyncio.sleep(0.05)
        ends = await _stream_ends(bus)
        await wait_until(lambda: _positions(db) == ends, timeout=45, message="caught up")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    samples, stored_events = _stored(db)
    assert kills == 5
    assert len(samples) == len(set(samples)) == len(expected), "every sample once"
    assert sorted(samples) == sorted(expected)
    assert stored_events == events, "every event once"


class _FailingDisk:
    """A store whose writes fail with StoreFull while ``full``, as SQLite's do on ENOSPC."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real = SqliteStore.write

        async def write(store: SqliteStore, batch: Any) -> None:
            if self.full:
                raise StoreFull("SQLite historian store: database or disk is full")
            await real(store, batch)

        monkeypatch.setattr(SqliteStore, "write", write)

    def fill(self) -> None:
        self.full = True

    def free(self) -> None:
        self.full = False


@pytest.mark.parametrize("kind", ["tmpfs", "injected"])
async def test_a_full_disk_pauses_ingest_and_it_catches_up(
    kind: str, bus: Bus, nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "tmpfs":
        disk_cm = small_disk("tmpfs", tmp_path / "disk", monkeypatch)
        disk: Any = disk_cm.__enter__()
        store_path = str(disk.path / "historian.sqlite")
    else:
        disk_cm, disk, store_path = None, _FailingDisk(monkeypatch), "historian.sqlite"
    try:
        config = {"historian": {"store_settings": {"path": store_path}, "max_batch_delay_s": 0.1}}
        await put_config(bus, config)
        async with hosted([HistorianService], nats_url=nats_url, data_dir=tmp_path) as runner:
            service = runner.services["historian"]
            assert isinstance(service, HistorianService)
            await wait_until(lambda: service.store is not None and service.config_version == 1)
            first = [T0 + i * 1_000_000 for i in range(300)]
            await publish_samples(bus, TAGS[0], first)
            await wait_until(lambda: service.stored["samples"] == 300)
            disk.fill()
            later = [T0 + (300 + i) * 1_000_000 for i in range(500)]  # fits the 256 KiB tmpfs
            for tag in TAGS[:3]:
                await publish_samples(bus, tag, later)
            await publish_events(bus, T0)
            serving, detail = await wait_until(
                lambda: (h := service.health())[1] and h, timeout=20, message="health says why"
            )
            assert serving and "full" in detail and "ingest paused" in detail, detail
            paused_at = dict(service.stored)
            await asyncio.sleep(1.0)
            assert service.stored == paused_at, "nothing is written while the disk is full"
            disk.free()
            await wait_until(lambda: service.stored["samples"] == 300 + 1500, timeout=30)
            assert service.health()[1] == ""
            assert service.store is not None
            ends = await _stream_ends(bus)
            for name, seq in ends.items():
                assert await service.store.position(name) == seq
            for tag in TAGS[:3]:
                rows = await service.store.samples(tag, 0, 2**62, 10_000)
                assert [s.time_us for s in rows] == (first if tag == TAGS[0] else []) + later
            assert len(await service.store.events([], "", 0, 2**62, 100)) == 5
    finally:
        if disk_cm is not None:
            disk_cm.__exit__(None, None, None)
