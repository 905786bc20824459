"""The historian on PostgreSQL with the server restarted under load (an immediate stop:
no checkpoint, crash recovery on start, as after a kill or a failover): every sample and
every event stored exactly once, the positions at the streams' ends."""

from __future__ import annotations

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
from tests.historian import publish_events, publish_samples

T0 = (time.time_ns() // 1000 - 2 * 3600 * 10**6) // 60_000_000 * 60_000_000
TAGS = [f"s/a/l/m{i}/temp" for i in range(10)]


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
            for spec in (streams.TELEMETRY, streams.EVENTS)
        }

        async def caught_up() -> bool:
            return dict(await _select(dsn, positions)) == ends  # type: ignore[arg-type]

        await wait_until(caught_up, timeout=60, message="caught up after the restarts")
        assert service.health()[1] == ""
    samples = await _select(
        dsn, "SELECT g.path, x.t FROM plantbus.samples AS x JOIN plantbus.tags AS g ON g.id = x.tag"
    )
    assert restarts == 5
    assert len(samples) == len(set(samples)) == len(expected), "every sample once"
    assert sorted(samples) == sorted(expected)  # type: ignore[type-var]
    assert await _select(dsn, "SELECT count(*) FROM plantbus.events") == [(events,)]
