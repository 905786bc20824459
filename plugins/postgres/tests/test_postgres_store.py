"""The PostgreSQL store against the historian store conformance kit on a real server
(Debian's postgresql package, started by the ``postgres_server`` fixture), plus what only
PostgreSQL has: time partitions, TimescaleDB detection, a server restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from plantbus_postgres.store import PostgresStore
from plantbus_postgres.views import VIEW_NAMES

from plantbus.sdk.historian import HistorianStore, StoreContext, StoreUnavailable, WriteBatch
from plantbus.testing.historian_kit import T0, HistorianStoreConformance, random_series
from plantbus.testing.postgres import PostgresServer


class TestPostgresStore(HistorianStoreConformance):
    store_class = PostgresStore

    @pytest.fixture
    def store_context(self, tmp_path: Path, postgres_dsn: str) -> StoreContext:
        self.dsn = postgres_dsn
        return StoreContext(data_dir=tmp_path / "store")

    def make_store(self, context: StoreContext) -> HistorianStore[Any]:
        settings = PostgresStore.Settings.model_validate({"dsn": self.dsn})
        return PostgresStore(settings, context)


def _store(dsn: str, tmp_path: Path, **settings: Any) -> PostgresStore:
    model = PostgresStore.Settings.model_validate({"dsn": dsn, **settings})
    return PostgresStore(model, StoreContext(data_dir=tmp_path))


async def _query(dsn: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute(query, params or None)
        return await cur.fetchall() if cur.description else []


async def test_samples_land_in_daily_partitions_and_expire_drops_them(
    postgres_dsn: str, tmp_path: Path
) -> None:
    """Three days of samples in three range partitions; expiring two days drops two whole
    partitions (and deletes by range in the third)."""
    store = _store(postgres_dsn, tmp_path)
    await store.open()
    try:
        assert store.timescale is False  # Debian's server has no TimescaleDB
        day = 86_400_000_000
        series = random_series("s/a/l/m/x", 3 * 24, 3_600_000_000, 8, start_us=T0)
        await store.write(WriteBatch(samples=series))
        parts = await _query(
            postgres_dsn,
            "SELECT c.relname, count(*) OVER () FROM pg_inherits AS i "
            "JOIN pg_class AS c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'plantbus.samples'::regclass ORDER BY 1",
        )
        days = sorted({s.time_us - s.time_us % day for s in series})
        assert [name for name, _ in parts] == [f"samples_{d}" for d in days]
        plan = await _query(
            postgres_dsn,
            "EXPLAIN SELECT * FROM plantbus.samples WHERE tag = 1 AND t >= %s AND t < %s",
            days[1],
            days[1] + 1000,
        )
        scanned = " ".join(row[0] for row in plan)
        assert f"samples_{days[1]}" in scanned and f"samples_{days[0]}" not in scanned
        cut = days[2] + 3_600_000_000
        deleted = await store.expire(cut, {}, {})
        kept = [s for s in series if s.time_us >= cut]
        assert deleted == len(series) - len(kept)
        assert await store.samples("s/a/l/m/x", 0, 2**62, 1000) == kept
        left = await _query(
            postgres_dsn,
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'plantbus.samples'::regclass",
        )
        assert left == [(len(days) - 2,)]
    finally:
        await store.close()


async def test_timescaledb_required_without_the_extension_says_how_to_fix(
    postgres_dsn: str, tmp_path: Path
) -> None:
    store = _store(postgres_dsn, tmp_path, timescaledb="required")
    with pytest.raises(StoreUnavailable, match="no timescaledb extension; install it"):
        await store.open()
    await store.close()


async def test_a_store_keeps_the_layout_it_was_made_with(postgres_dsn: str, tmp_path: Path) -> None:
    """Reopened, native partitions stay (TimescaleDB later installed or not); asked to
    require TimescaleDB over them, the store says what to do instead."""
    store = _store(postgres_dsn, tmp_path)
    await store.open()
    await store.close()
    again = _store(postgres_dsn, tmp_path, timescaledb="required")
    with pytest.raises(StoreUnavailable, match="made with native partitions; keep timescaledb"):
        await again.open()
    await again.close()


async def test_timescaledb_hypertable_when_the_extension_is_there(
    postgres_dsn: str, tmp_path: Path
) -> None:
    available = await _query(
        postgres_dsn, "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    )
    if not available:
        pytest.skip("the server has no timescaledb extension (Debian ships none)")
    store = _store(postgres_dsn, tmp_path)
    await store.open()
    try:
        assert store.timescale is True
        await store.write(WriteBatch(samples=random_series("s/a/l/m/x", 100, 10**6, 9)))
        hyper = await _query(
            postgres_dsn,
            "SELECT compression_enabled FROM timescaledb_information.hypertables "
            "WHERE hypertable_name = 'samples'",
        )
        assert hyper == [(True,)]
    finally:
        await store.close()


async def test_a_server_restart_fails_one_write_then_reconnects(
    tmp_path: Path,
) -> None:
    """The write during the outage raises StoreUnavailable with nothing kept; the next
    one, once the server is back, reconnects and commits."""
    server = PostgresServer().start()
    try:
        dsn = server.create_database("restart")
        store = _store(dsn, tmp_path, connect_timeout_s=1)
        await store.open()
        series = random_series("s/a/l/m/x", 200, 10**6, 10)
        await store.write(WriteBatch(samples=series[:100], positions={"S": 1}))
        server.stop(immediate=True)
        with pytest.raises(StoreUnavailable, match="PostgreSQL historian store"):
            await store.write(WriteBatch(samples=series[100:], positions={"S": 2}))
        with pytest.raises(StoreUnavailable):
            await store.position("S")
        server.start()
        assert await store.position("S") == 1
        await store.write(WriteBatch(samples=series[100:], positions={"S": 2}))
        assert await store.position("S") == 2
        assert await store.samples("s/a/l/m/x", 0, 2**62, 1000) == series
        await store.close()
    finally:
        server.remove()


async def test_views_are_granted_to_reader_roles_and_nothing_else(
    postgres_dsn: str, tmp_path: Path
) -> None:
    """A role in grant_views_to reads every view and no table; any other role (an
    anonymous caller for this purpose) is refused the views too."""
    for role in ("grafana", "stranger"):
        await _query(postgres_dsn, f"CREATE ROLE {role} LOGIN")
    store = _store(postgres_dsn, tmp_path, grant_views_to=["grafana"])
    await store.open()
    try:
        await store.write(WriteBatch(samples=random_series("s/a/l/m/x", 100, 10**6, 11)))
        grafana = postgres_dsn.replace("user=plantbus", "user=grafana")
        for view in VIEW_NAMES:
            await _query(grafana, f"SELECT * FROM plantbus.{view} LIMIT 1")
        rows = await _query(grafana, "SELECT count(*) FROM plantbus.tag_samples")
        assert rows == [(100,)]
        for forbidden in (
            "SELECT * FROM plantbus.samples LIMIT 1",
            "SELECT * FROM plantbus.positions",
            "INSERT INTO plantbus.positions VALUES ('S', 1)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await _query(grafana, forbidden)
        stranger = postgres_dsn.replace("user=plantbus", "user=stranger")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await _query(stranger, "SELECT * FROM plantbus.tag_samples LIMIT 1")
    finally:
        await store.close()
