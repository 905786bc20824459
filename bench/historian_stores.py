"""SQLite against DuckDB as the historian's embedded store, on the same workload: a bare
insert of the same rows, the 24-hour trend of one 1 Hz tag into 500 buckets (count, min,
max, mean, time-weighted mean, first, last, good fraction) from the raw samples, the
7-day trend into 20-minute buckets, bytes per stored sample, and the memory each engine
adds to the process. docs/benchmarks.md records the figures and the choice.

    pip install duckdb pyarrow && python3 bench/historian_stores.py

Each engine gets its natural layout and fast path: SQLite the store's WITHOUT ROWID table
with executemany; DuckDB a plain columnar table filled from Arrow, with holds computed by
a window at query time (it has no cheap in-place update of a neighbour's hold).
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _hub import percentile
from historian import DAY_US, QUERIES, T0, open_store

from plantbus.sdk.historian import HOUR_US, MINUTE_US, Sample, WriteBatch

TAGS = 1_000
SECONDS = 120
WEEK_S = 7 * 24 * 3600


def week_value(s: int) -> float:
    """A sensor-like value: a slow swing plus noise, to two decimals (as a scaled reading)."""
    noise = (s * 2654435761 % 2**32) / 2**32 - 0.5
    return round(50 + 10 * math.sin(s / 600) + noise, 2)


def rows(tags: int, seconds: int) -> list[tuple[int, int, float, int, int]]:
    """(tag, time, value, quality, receive offset) as the device would produce them."""
    return [
        (i, T0 + s * 1_000_000, round(50 + (i + s) % 37 * 0.25, 2), 1, 1500)
        for s in range(seconds)
        for i in range(tags)
    ]


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def query_rss(engine: str, path: Path) -> float:
    """RSS of a fresh process that opens ``path`` and runs both trends (no ingest data in
    memory): what the engine costs a historian that serves queries."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss", engine, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _rss_child(engine: str, path: str) -> None:
    end = T0 + 7 * DAY_US
    if engine == "none":  # the baseline: this module imported, nothing opened
        pass
    elif engine == "duckdb":
        import duckdb

        conn = duckdb.connect(path, read_only=True)
        for start, width in ((end - DAY_US, DAY_US // 500), (T0, 20 * MINUTE_US)):
            params = {"tag": 100_000, "o": start, "s": start, "e": end, "w": width}
            conn.execute(_DUCK_TREND, params).fetchall()
    else:

        async def run() -> None:
            store = open_store(Path(path))
            await store.open()
            tag = "bench/a/l/m1/temp"
            await store.aggregate(tag, end - DAY_US, end, DAY_US // 500)
            await store.aggregate(tag, T0, end, 20 * MINUTE_US)
            await store.close()

        asyncio.run(run())
    print(round(_rss_mb(), 1))


def timed(run: Any) -> tuple[float, float]:
    times = []
    for _ in range(QUERIES):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return round(percentile(times, 50), 2), round(percentile(times, 99), 2)


def sqlite_figures(tmp: Path, data: list[tuple[int, int, float, int, int]]) -> dict[str, float]:
    conn = sqlite3.connect(tmp / "bare.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(
        "CREATE TABLE samples (tag INTEGER NOT NULL, t INTEGER NOT NULL, v REAL, "
        "q INTEGER NOT NULL, r INTEGER NOT NULL, PRIMARY KEY (tag, t)) WITHOUT ROWID"
    )
    began = time.perf_counter()
    for first in range(0, len(data), 10_000):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", data[first : first + 10_000])
        conn.execute("COMMIT")
    insert = len(data) / (time.perf_counter() - began)
    conn.close()

    async def week() -> dict[str, float]:
        store = open_store(tmp / "week")
        await store.open()
        tag = "bench/a/l/m1/temp"
        for hour in range(7 * 24):
            base = T0 + hour * HOUR_US
            batch = [
                Sample(tag, base + s * 1_000_000, week_value(hour * 3600 + s), None, 1, base)
                for s in range(3600)
            ]
            await store.write(WriteBatch(samples=batch))
        end = T0 + 7 * DAY_US
        loop = asyncio.get_running_loop()
        day, w = [], []
        for _ in range(QUERIES):
            began = loop.time()
            await store.aggregate(tag, end - DAY_US, end, DAY_US // 500)
            day.append((loop.time() - began) * 1000)
            began = loop.time()
            await store.aggregate(tag, T0, end, 20 * MINUTE_US)
            w.append((loop.time() - began) * 1000)
        size = await store.size_bytes()
        await store.close()
        baseline = query_rss("none", tmp / "week")
        return {
            "sqlite_query_rss_mb": round(query_rss("sqlite", tmp / "week") - baseline, 1),
            "sqlite_trend_24h_raw_p50_ms": round(percentile(day, 50), 2),
            "sqlite_trend_24h_raw_p99_ms": round(percentile(day, 99), 2),
            "sqlite_trend_7d_raw_p50_ms": round(percentile(w, 50), 2),
            "sqlite_trend_7d_raw_p99_ms": round(percentile(w, 99), 2),
            "sqlite_bytes_per_sample": round(size / WEEK_S, 1),
        }

    return {"sqlite_bare_insert_per_s": round(insert), **asyncio.run(week())}


_DUCK_TREND = """
WITH held AS (
    SELECT t, v, q, (t - $o) // $w AS k,
           least(coalesce(lead(t) OVER (ORDER BY t), 9223372036854775807) - t,
                 $w - (t - $o) % $w) AS hold
    FROM samples WHERE tag = $tag AND t >= $s AND t < $e)
SELECT k, count(*), sum((q = 1)::INT), count(v), min(v), max(v), sum(v),
       sum(v * hold) / sum(CASE WHEN v IS NOT NULL THEN hold END),
       arg_min(v, t), arg_max(v, t)
FROM held GROUP BY k ORDER BY k
"""


def duckdb_figures(tmp: Path, data: list[tuple[int, int, float, int, int]]) -> dict[str, float]:
    import duckdb
    import pyarrow as pa

    conn = duckdb.connect(str(tmp / "bench.duckdb"))
    conn.execute("CREATE TABLE samples (tag INTEGER, t BIGINT, v DOUBLE, q UTINYINT, r INTEGER)")
    began = time.perf_counter()
    for first in range(0, len(data), 10_000):
        part = data[first : first + 10_000]
        table = pa.table(
            {
                "tag": pa.array([r[0] for r in part], pa.int32()),
                "t": pa.array([r[1] for r in part], pa.int64()),
                "v": pa.array([r[2] for r in part], pa.float64()),
                "q": pa.array([r[3] for r in part], pa.uint8()),
                "r": pa.array([r[4] for r in part], pa.int32()),
            }
        )
        conn.register("batch", table)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO samples SELECT * FROM batch")
        conn.execute("COMMIT")
        conn.unregister("batch")
    insert = len(data) / (time.perf_counter() - began)
    conn.execute("DELETE FROM samples")
    week = [(100_000, T0 + s * 1_000_000, week_value(s), 1, 0) for s in range(WEEK_S)]
    columns = zip(("tag", "t", "v", "q", "r"), zip(*week, strict=True), strict=True)
    conn.register("week", pa.table(dict(columns)))
    conn.execute("INSERT INTO samples SELECT * FROM week")
    conn.execute("CHECKPOINT")
    end = T0 + 7 * DAY_US

    def trend(start: int, width: int) -> None:
        params = {"tag": 100_000, "o": start, "s": start, "e": end, "w": width}
        conn.execute(_DUCK_TREND, params).fetchall()

    day = timed(lambda: trend(end - DAY_US, DAY_US // 500))
    seven = timed(lambda: trend(T0, 20 * MINUTE_US))
    size = sum(f.stat().st_size for f in tmp.glob("bench.duckdb*"))
    conn.close()
    added = query_rss("duckdb", tmp / "bench.duckdb") - query_rss("none", tmp / "week")
    return {
        "duckdb_bare_insert_per_s": round(insert),
        "duckdb_trend_24h_raw_p50_ms": day[0],
        "duckdb_trend_24h_raw_p99_ms": day[1],
        "duckdb_trend_7d_raw_p50_ms": seven[0],
        "duckdb_trend_7d_raw_p99_ms": seven[1],
        "duckdb_bytes_per_sample": round(size / WEEK_S, 1),
        "duckdb_query_rss_mb": round(added, 1),
    }


def main() -> None:
    if sys.argv[1:2] == ["--rss"]:
        _rss_child(sys.argv[2], sys.argv[3])
        return
    data = rows(TAGS, SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        figures = sqlite_figures(Path(tmp), data)
        try:
            figures |= duckdb_figures(Path(tmp), data)
        except ImportError as err:
            print(f"duckdb figures skipped: {err} (pip install duckdb pyarrow)", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
