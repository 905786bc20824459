"""The SQLite store against the historian store conformance kit, plus what only SQLite has:
WAL mode and a full disk reported as StoreFull with nothing kept."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from plantbus_sqlite.store import SqliteStore

from plantbus.sdk.historian import StoreContext, StoreFull, WriteBatch
from plantbus.testing.historian_kit import HistorianStoreConformance, random_series


class TestSqliteStore(HistorianStoreConformance):
    store_class = SqliteStore
    settings: dict[str, Any] = {"synchronous": "normal"}


async def test_database_is_in_wal_mode(tmp_path: Any) -> None:
    store = SqliteStore(SqliteStore.Settings.model_validate({}), StoreContext(tmp_path))
    await store.open()
    try:
        mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
    finally:
        await store.close()


async def test_a_full_database_raises_store_full_and_keeps_nothing(tmp_path: Any) -> None:
    """SQLite's max_page_count stands in for a full disk: SQLITE_FULL, the same error."""
    store = SqliteStore(SqliteStore.Settings.model_validate({}), StoreContext(tmp_path))
    await store.open()
    try:
        await store.write(
            WriteBatch(samples=random_series("s/a/l/m/x", 10, 10**6, 1), positions={"S": 1})
        )
        assert store._w is not None
        pages = store._w.conn.execute("PRAGMA page_count").fetchone()[0]
        store._w.conn.execute(f"PRAGMA max_page_count = {pages}")
        big = random_series("s/a/l/m/x", 20_000, 10**6, 2, start_us=2 * 10**15)
        with pytest.raises(StoreFull, match="full"):
            await store.write(WriteBatch(samples=big, positions={"S": 2}))
        assert await store.position("S") == 1
        assert len(await store.samples("s/a/l/m/x", 0, 2**62, 100_000)) == 10
        store._w.conn.execute("PRAGMA max_page_count = 1073741823")
        await store.write(WriteBatch(samples=big, positions={"S": 2}))
        assert await store.position("S") == 2
    finally:
        await store.close()
