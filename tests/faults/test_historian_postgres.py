"""The historian on PostgreSQL under faults: the server restarted under load (an
immediate stop: no checkpoint, crash recovery on start, as after a kill or a failover), and
the store's disk full (its tablespace on a small tmpfs): every sample and every event
stored exactly once, the positions at the streams' ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from plantbus.historian.service import HistorianService
from plantbus.kit import streams
from plantbus.kit.bus import Bus
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.postgres import PostgresServer, postgres_bin
from plantbus.testing.waiting import wait_until
from tests.disk import small_disk
from tests.historian import open_historian, publish_events, publish_samples

T0 = (time.time_ns() // 1000 - 2 * 3600 * 10**6) // 60_000_000 * 60_000_000
TAGS = [f"s/a/l/m{i}/temp" for i in range(10)]
_SAMPLES = "SELECT g.path, x.t FROM plantbus.samples AS x JOIN plantbus.tags AS g ON g.id = x.tag"


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    """A server of this test's own: it is restarted."""
    if postgres_bin() is None:
        pytest.skip("needs Debian's postgresql package (apt-get install postgresql)")
    started = PostgresServer().start()
    try:
        yield started
    finally:
        started.remove()


async def _select(dsn: str, query: str) -> list[tuple[object, ...]]:
    """Rows of ``query``; [] while the server is away or the schema not yet made."""
    try:
        async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=2) as conn:
            return await (await conn.execute(query)).fetchall()
    except psycopg.Error:
        return []


@pytest.mark.slow
async def test_postgres_restarted_under_load_stores_every_row_once(
    bus: Bus, nats_url: str, server: PostgresServer, tmp_path: Path
) -> None:
    dsn = server.create_database("historian")
    store = {"store": "postgres", "store_settings": {"dsn": dsn, "connect_timeout_s": 1}}
    await put_config(bus, {"historian": {**store, "oee_every_s": 0, "max_batch_delay_s": 0.1}})
    expected: list[tuple[str, int]] = []
    events = restarts = 0
    async with hosted([HistorianService], nats_url=nats_url, data_dir=tmp_path) as runner:
        service = runner.services["historian"]
        assert isinstance(service, HistorianService)
        await wait_until(lambda: service.config_version == 1 and service.store is not None)
        positions = "SELECT stream, seq FROM plantbus.positions"
        for second in range(30):
            outage = second % 6 == 3
            if outage:  # often mid-write: the rounds before are still being written
                await wait_until(lambda: _select(dsn, positions), timeout=30)
                server.stop(immediate=True)
                restarts += 1
            times = [T0 + (second * 50 + i) * 100_000 for i in range(50)]
            for tag in TAGS:
                await publish_samples(bus, tag, times)
                expected.extend((tag, t) for t in times)
            await publish_events(bus, T0 + second * 10_000)
            events += 5
            if outage:
                await wait_until(
                    lambda: "store failing" in service.health()[1], timeout=30, message="failing"
                )
                server.start()
        ends = {
            spec.name: (await bus.js.stream_info(spec.name)).state.last_seq
            for spec in (streams.CYCLES, streams.EVENTS)
        }

        async def caught_up() -> bool:
            return dict(await _select(dsn, positions)) == ends  # type: ignore[arg-type]

        await wait_until(caught_up, timeout=60, message="caught up after the restarts")
        assert service.health()[1] == ""
    samples = await _select(dsn, _SAMPLES)
    assert restarts == 5
    assert len(samples) == len(set(samples)) == len(expected), "every sample once"
    assert sorted(samples) == sorted(expected)  # type: ignore[type-var]
    assert await _select(dsn, "SELECT count(*) FROM plantbus.events") == [(events,)]


async def _small_tablespace(server: PostgresServer, space: Path, dbname: str) -> str:
    """A database whose tables go to a tablespace at ``space`` (so the store's rows land
    on that filesystem; the server's WAL and catalog stay where they are)."""
    server.own(space)
    dsn = server.create_database(dbname)
    async with await psycopg.AsyncConnection.connect(server.dsn(), autocommit=True) as conn:
        await conn.execute(f"CREATE TABLESPACE small LOCATION '{space}'")
        await conn.execute(f"ALTER DATABASE {dbname} SET default_tablespace = small")
    return dsn


@pytest.mark.slow
async def test_postgres_disk_full_pauses_ingest_and_it_catches_up(
    bus: Bus,
    nats_url: str,
    server: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store's tablespace on a real 16 MiB tmpfs, filled while the historian writes:
    health names the store and the server's "No space left on device", nothing past what
    the store holds is acknowledged (the rest waits in the streams), and once space is
    freed every sample and event is stored once."""
    with small_disk("tmpfs", server.dir / "disk", monkeypatch, size="16m") as disk:
        dsn = await _small_tablespace(server, disk.path / "pg", "historian")
        store = {"store": "postgres", "store_settings": {"dsn": dsn, "connect_timeout_s": 1}}
        await put_config(bus, {"historian": {**store, "max_batch_delay_s": 0.1}})
        async with hosted([HistorianService], nats_url=nats_url, data_dir=tmp_path) as runner:
            service = await open_historian(runner)
            first = [T0 + i * 1_000_000 for i in range(300)]
            await publish_samples(bus, TAGS[0], first)
            await wait_until(lambda: service.stored["samples"] == 300)
            disk.fill()
            later = [T0 + 300_000_000 + i * 100_000 for i in range(3000)]
            for tag in TAGS[:3]:
                await publish_samples(bus, tag, later)
            await publish_events(bus, T0)
            serving, detail = await wait_until(
                lambda: "No space" in (h := service.health())[1] and h,
                timeout=30,
                message="health says the disk is full",
            )
            assert serving, "queries are still answered"
            assert "historian store failing: PostgreSQL historian store: " in detail, detail
            assert "No space left on device" in detail and "ingest paused" in detail, detail
            paused_at = dict(service.stored)
            held = dict(await _select(dsn, "SELECT stream, seq FROM plantbus.positions"))
            ends = {
                spec.name: (await bus.js.stream_info(spec.name)).state.last_seq
                for spec in (streams.CYCLES, streams.EVENTS)
            }
            for reader in service.readers:
                info = await bus.js.consumer_info(reader.stream, reader.durable)
                assert info.ack_floor.stream_seq <= held.get(reader.stream, 0), reader.stream
            assert held[streams.CYCLES.name] < ends[streams.CYCLES.name], "waiting"
            await asyncio.sleep(1.0)
            assert service.stored == paused_at, "nothing is written while the disk is full"
            disk.free()
            await wait_until(
                lambda: service.stored["samples"] == 300 + 3 * 3000, timeout=60, message="caught up"
            )
            assert service.health()[1] == ""
            positions = await _select(dsn, "SELECT stream, seq FROM plantbus.positions")
            assert dict(positions) == ends  # type: ignore[arg-type]
            samples = await _select(dsn, _SAMPLES)
            expected = [(TAGS[0], t) for t in first] + [(tag, t) for tag in TAGS[:3] for t in later]
            assert len(samples) == len(set(samples)) == len(expected) == 9300, "every sample once"
            assert sorted(samples) == sorted(expected)  # type: ignore[type-var]
            assert await _select(dsn, "SELECT count(*) FROM plantbus.events") == [(5,)]
