"""The SQLite store against the historian store conformance kit, plus what only SQLite has:
WAL mode and a full disk reported as StoreFull with nothing kept."""

from __future__ import annotations

import itertools
import random
import sqlite3
from typing import Any

import pytest
from plantbus_sqlite.store import SqliteStore

from plantbus.sdk.historian import (
    HOUR_US,
    MINUTE_US,
    Sample,
    StoreContext,
    StoreFull,
    WriteBatch,
    summarize,
)
from plantbus.testing.historian_kit import (
    T0,
    HistorianStoreConformance,
    assert_buckets_equal,
    random_series,
)


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


def _interleaved(tags: list[str], seconds: int, seed: int) -> list[list[Sample]]:
    """Batches as a live feed writes them: every tag about once a second, the tags of a
    batch interleaved, some samples sent twice in a batch with another value (the later
    kept), some text, some without a value."""
    rng = random.Random(seed)
    batches = []
    for second in range(seconds):
        batch = []
        for i, tag in enumerate(tags):
            t = T0 + second * 1_000_000 + i * 997 + rng.randint(0, 900)
            text = f"mode{second % 3}" if tag.endswith("mode") else None
            value = None if text is not None or rng.random() < 0.05 else rng.uniform(0, 9)
            batch.append(Sample(tag, t, value, text, rng.choice((1, 1, 3)), t + 5))
            if rng.random() < 0.1:
                again = None if text is not None else rng.uniform(10, 20)
                batch.append(Sample(tag, t, again, text, 1, t + 6))
        rng.shuffle(batch)
        batches.append(batch)
    return batches


async def test_interleaved_tags_keep_each_sample_its_hold_and_rollups(tmp_path: Any) -> None:
    """Many tags a batch, duplicates, text, late batches: each tag's samples (the last
    written of the same time), its holds (until the tag's next sample) and rollups equal the
    reference."""
    tags = [f"s/a/l/m{i}/{'mode' if i % 5 == 0 else 'temp'}" for i in range(12)]
    batches = _interleaved(tags, 200, 8)
    store = SqliteStore(SqliteStore.Settings.model_validate({}), StoreContext(tmp_path))
    await store.open()
    try:
        order = batches[:80] + [b[::2] for b in batches[150:]] + batches[80:150]
        order += [b[1::2] for b in batches[150:]]  # late halves: holds fixed around them
        for seq, batch in enumerate(order, 1):
            await store.write(WriteBatch(samples=batch, positions={"S": seq}))
        assert store._w is not None
        conn = store._w.conn
        for tag in tags:
            kept = {s.time_us: s for batch in order for s in batch if s.tag == tag}
            want = [kept[t] for t in sorted(kept)]
            assert await store.samples(tag, 0, 2**62, 10_000) == want
            holds = conn.execute(
                "SELECT h FROM samples WHERE tag = (SELECT id FROM tags WHERE path = ?) ORDER BY t",
                (tag,),
            ).fetchall()
            times = [s.time_us for s in want]
            assert [h for (h,) in holds] == [b - a for a, b in itertools.pairwise(times)] + [None]
            end = times[-1] - times[-1] % HOUR_US + HOUR_US
            for width in (MINUTE_US, HOUR_US):
                got = await store.rollups(tag, width, T0, end)
                assert_buckets_equal(got, summarize(want, T0, end, width))
    finally:
        await store.close()
