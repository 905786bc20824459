"""Historian: ingest into the embedded store beside a bare insert of the same rows, trend
queries (24 hours raw into 500 buckets, 7 days from the minute rollups), bytes per
stored sample.

Ingest runs the historian's own path, from the bus payloads: decode each TagSampleBatch
(one per tag per second, as the device publishes them), skip redeliveries, write batches
of ``max_batch_messages`` with their stream position, holds and rollups, decoding the
next batch while the last one is written, as the service does. The bare insert
writes the same rows, already built, with one executemany per batch into the same table
layout. The trends run through the servicer (plan, store, rollup combination, messages).

PostgreSQL (when Debian's postgresql package is installed: a throw-away server on a free
port, plantbus.testing.postgres): the same ingest into the PostgreSQL store beside a bare
binary COPY of the same rows into the same layout (a daily-partitioned samples table keyed
by tag and time), one COPY and commit per batch, in the same run.

Prints JSON: historian_ingest_samples_per_s, historian_bare_insert_per_s,
historian_ingest_ratio, historian_pg_ingest_samples_per_s, historian_pg_bare_copy_per_s,
historian_pg_ingest_ratio, historian_pg_store_samples_per_s, historian_pg_store_ratio (the
store alone: the decoded batches written, beside the same bare COPY) (historian_pg_* only
with PostgreSQL), trend_24h_p50_ms, trend_24h_p99_ms (500 buckets of 172.8 s, from
the raw samples), trend_24h_3m_p50_ms, trend_24h_3m_p99_ms (480 buckets of 3 minutes, from
the minute rollups), trend_7d_p50_ms, trend_7d_p99_ms (20-minute buckets from the minute
rollups), historian_bytes_per_sample.

``--feed``: the historian service's CPU per 1,000 samples from a backlog and from a live
feed instead (bench/historian_feed.py says how).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from _hub import percentile
from plantbus_postgres.store import PostgresSettings, PostgresStore
from plantbus_sqlite.store import SqliteSettings, SqliteStore

from plantbus.config.historian import HistorianConfig
from plantbus.historian.batch import Pending
from plantbus.historian.rows import TagFilter
from plantbus.historian.servicer import HistorianServicer
from plantbus.sdk.historian import (
    HOUR_US,
    MINUTE_US,
    HistorianStore,
    Sample,
    StoreContext,
    WriteBatch,
)
from plantbus.testing.postgres import PostgresServer, postgres_bin
from plantbus.v1 import telemetry_pb2

TAGS = 1_000
SECONDS = 120
T0 = 1_764_547_200_000_000
DAY_US = 24 * HOUR_US
QUERIES = 40


def payloads(tags: int, seconds: int) -> list[bytes]:
    """One TagSampleBatch per tag per second, in publishing order."""
    out = []
    for s in range(seconds):
        for i in range(tags):
            sample = telemetry_pb2.TagSample(
                path=f"bench/a/l/m{i % 50}/tag{i}", quality=telemetry_pb2.QUALITY_GOOD
            )
            sample.value.double_value = round(50 + (i + s) % 37 * 0.25, 2)
            sample.source_time.FromMicroseconds(T0 + s * 1_000_000)
            sample.receive_time.FromMicroseconds(T0 + s * 1_000_000 + 1500)
            out.append(telemetry_pb2.TagSampleBatch(samples=[sample]).SerializeToString())
    return out


def open_store(directory: Path) -> SqliteStore:
    return SqliteStore(SqliteSettings(), StoreContext(directory))


async def ingest(
    store: HistorianStore[Any], messages: list[bytes], batch: int
) -> tuple[float, list[Any]]:
    """The historian's path; returns samples/s and the rows it wrote (for the bare insert)."""
    await store.open()
    keep = TagFilter(["*"])
    rows: list[Any] = []
    started = time.perf_counter()
    seq = 0
    writing: asyncio.Task[None] | None = None
    for first in range(0, len(messages), batch):  # decode one batch while the last is written
        pending = Pending({"PLANTBUS_CYCLES": seq})
        for data in messages[first : first + batch]:
            seq += 1
            pending.add_telemetry("PLANTBUS_CYCLES", seq, data, keep, 0)
        if writing is not None:
            await writing
        writing = asyncio.create_task(store.write(pending.write_batch()))
        await asyncio.sleep(0)  # the write starts (its thread, its first statement) now
        rows.append(pending.samples)
    if writing is not None:
        await writing
    elapsed = time.perf_counter() - started
    await store.close()
    return len(messages) / elapsed, rows


def _built(batches: list[list[Sample]]) -> list[list[tuple[Any, ...]]]:
    """The rows as the stores keep them: tag id, time, value, text, quality, receive
    offset, hold."""
    ids: dict[str, int] = {}
    return [
        [
            (
                ids.setdefault(s.tag, len(ids) + 1),
                s.time_us,
                s.value,
                s.text,
                s.quality,
                s.receive_us - s.time_us,
                None,
            )
            for s in batch
        ]
        for batch in batches
    ]


def bare_insert(path: Path, batches: list[list[Sample]]) -> float:
    """The same rows into the same layout: one executemany and commit per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE samples (tag INTEGER NOT NULL, t INTEGER NOT NULL, v REAL, s TEXT, "
        "q INTEGER NOT NULL, r INTEGER NOT NULL, h INTEGER, PRIMARY KEY (tag, t)) WITHOUT ROWID"
    )
    built = _built(batches)
    started = time.perf_counter()
    for batch in built:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return sum(len(b) for b in built) / elapsed


async def bare_copy(dsn: str, batches: list[list[Sample]]) -> float:
    """The same rows by binary COPY into the store's layout: one COPY and commit a batch."""
    built = _built(batches)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE bare (tag integer NOT NULL, t bigint NOT NULL, v double precision, "
            "s text, q smallint NOT NULL, r bigint NOT NULL, h bigint, PRIMARY KEY (tag, t)) "
            "PARTITION BY RANGE (t)"
        )
        day = T0 - T0 % DAY_US
        await conn.execute(
            f"CREATE TABLE bare_day PARTITION OF bare FOR VALUES FROM ({day}) TO ({day + DAY_US})"
        )
        started = time.perf_counter()
        for batch in built:
            async with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy("COPY bare FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(("int4", "int8", "float8", "text", "int2", "int8", "int8"))
                for row in batch:
                    await copy.write_row(row)
        elapsed = time.perf_counter() - started
    return sum(len(b) for b in built) / elapsed


async def postgres(messages: list[bytes], batch: int, data: Path) -> dict[str, float]:
    """The PostgreSQL figures on a throw-away server; none without Debian's package."""
    if postgres_bin() is None:
        print("PostgreSQL figures skipped: apt-get install postgresql", file=sys.stderr)
        return {}
    server = PostgresServer().start()
    try:
        dsn = server.create_database("bench")
        settings = PostgresSettings.model_validate({"dsn": dsn})
        rate, rows = await ingest(PostgresStore(settings, StoreContext(data)), messages, batch)
        bare = await bare_copy(dsn, rows)
        settings = PostgresSettings.model_validate({"dsn": server.create_database("w")})
        store_rate = await writes(PostgresStore(settings, StoreContext(data)), rows)
    finally:
        server.remove()
    return {
        "historian_pg_ingest_samples_per_s": round(rate),
        "historian_pg_bare_copy_per_s": round(bare),
        "historian_pg_ingest_ratio": round(rate / bare, 3),
        "historian_pg_store_samples_per_s": round(store_rate),
        "historian_pg_store_ratio": round(store_rate / bare, 3),
    }


async def writes(store: HistorianStore[Any], batches: list[list[Sample]]) -> float:
    """The store alone: the decoded batches written one after another (samples/s)."""
    await store.open()
    started = time.perf_counter()
    for seq, samples in enumerate(batches, start=1):
        await store.write(WriteBatch(samples=samples, positions={"PLANTBUS_CYCLES": seq}))
    elapsed = time.perf_counter() - started
    await store.close()
    return sum(len(b) for b in batches) / elapsed


class _Service:
    """What the servicer needs of the service: the open store."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.open_error = ""


async def trends(directory: Path) -> dict[str, float]:
    """Seven days of one tag at 1 Hz, then the two trend queries, QUERIES times each."""
    store = open_store(directory)
    await store.open()
    tag = "bench/a/l/m1/temp"
    for hour in range(7 * 24):
        base = T0 + hour * HOUR_US
        await store.write(
            WriteBatch(
                samples=[
                    Sample(tag, base + s * 1_000_000, 50 + (s % 600) / 10, None, 1, base)
                    for s in range(3600)
                ]
            )
        )
    servicer = HistorianServicer(_Service(store))  # type: ignore[arg-type]
    end = T0 + 7 * DAY_US

    async def timed(start: int, width: int, source: str) -> list[float]:
        times = []
        for _ in range(QUERIES):
            began = time.perf_counter()
            reply = await servicer._buckets(store, [tag], start, end, width)
            times.append((time.perf_counter() - began) * 1000)
            assert reply.source == source and reply.tags[0].buckets, reply.source
        return times

    day = await timed(end - DAY_US, DAY_US // 500, "raw")
    day_minutes = await timed(end - DAY_US, 3 * MINUTE_US, "minute")
    week = await timed(T0, 20 * MINUTE_US, "minute")
    size = await store.size_bytes()
    await store.close()
    return {
        "trend_24h_p50_ms": round(percentile(day, 50), 2),
        "trend_24h_p99_ms": round(percentile(day, 99), 2),
        "trend_24h_3m_p50_ms": round(percentile(day_minutes, 50), 2),
        "trend_24h_3m_p99_ms": round(percentile(day_minutes, 99), 2),
        "trend_7d_p50_ms": round(percentile(week, 50), 2),
        "trend_7d_p99_ms": round(percentile(week, 99), 2),
        "historian_bytes_per_sample": round(size / (7 * 24 * 3600), 1),
    }


async def main() -> None:
    batch = HistorianConfig().max_batch_messages
    with tempfile.TemporaryDirectory() as tmp:
        figures = await trends(Path(tmp) / "trends")  # first: no ingest data in memory yet
        messages = payloads(TAGS, SECONDS)
        store = open_store(Path(tmp) / "ingest")
        rate, rows = await ingest(store, messages, batch)
        bare = bare_insert(Path(tmp) / "bare.sqlite", rows)
        figures |= {
            "historian_ingest_samples_per_s": round(rate),
            "historian_bare_insert_per_s": round(bare),
            "historian_ingest_ratio": round(rate / bare, 3),
        }
        figures |= await postgres(messages, batch, Path(tmp) / "pg")
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:] == ["--feed"]:
        import historian_feed

        print(json.dumps(asyncio.run(historian_feed.main())))
    else:
        asyncio.run(main())
