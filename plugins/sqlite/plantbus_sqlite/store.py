"""The embedded historian store: one SQLite database in WAL mode, no server.

Layout (docs/historian.md): integer tag ids; samples keyed by (tag, time) in a
WITHOUT ROWID table, time as int64 microseconds, the value as REAL with a side column for
text, the receive time as an offset from the source time, and ``h``, how long the value
held (until the tag's next sample; NULL for the latest), which makes time-weighted
aggregates a plain GROUP BY. Rollups (minute and hour) live in one WITHOUT ROWID table
keyed by (tag, width, start).

sqlite3 blocks, so writes run on one thread of their own (one connection) and reads on
another pool with a connection per thread; WAL lets them run at the same time.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from plantbus.sdk import API_VERSION
from plantbus.sdk.historian import (
    HOUR_US,
    MINUTE_US,
    Bucket,
    Event,
    HistorianStore,
    Sample,
    StoreFull,
    StoreUnavailable,
    WriteBatch,
    combine,
)
from plantbus.sdk.plugin import PluginManifest

__all__ = ["SqliteSettings", "SqliteStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS samples (
    tag INTEGER NOT NULL, t INTEGER NOT NULL, v REAL, s TEXT, q INTEGER NOT NULL,
    r INTEGER NOT NULL, h INTEGER, PRIMARY KEY (tag, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollups (
    tag INTEGER NOT NULL, w INTEGER NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL,
    good INTEGER NOT NULL, valued INTEGER NOT NULL, mn REAL, mx REAL, sm REAL NOT NULL,
    area REAL NOT NULL, cov INTEGER NOT NULL, f REAL, ft INTEGER NOT NULL, l REAL,
    lt INTEGER NOT NULL, PRIMARY KEY (tag, w, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, scope TEXT NOT NULL, t INTEGER NOT NULL,
    key TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (t, id);
CREATE TABLE IF NOT EXISTS positions (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""

_HELD = "min(ifnull(h, :w), :w - (t - :o) % :w)"
"""How long a sample's value holds in its bucket: until the next sample (``h``), at most to
the bucket's end; the latest sample (``h`` NULL) holds to the end."""
# Samples in [:s, :e), one bucket per k = (t - :o) / :w, first and last values joined back
# by primary key.
_AGGREGATE = f"""
SELECT :o + g.k * :w, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.v, g.t0, l.v,
       g.t1
FROM (
    SELECT (t - :o) / :w AS k, count(*) AS n, sum(q = 1) AS good, count(v) AS valued,
           min(v) AS mn, max(v) AS mx, total(v) AS sm, total(v * {_HELD}) AS area,
           CAST(total(CASE WHEN v IS NOT NULL THEN {_HELD} END) AS INTEGER) AS cov,
           min(t) AS t0, max(t) AS t1
    FROM samples WHERE tag = :tag AND t >= :s AND t < :e
    GROUP BY k) AS g
JOIN samples AS f ON f.tag = :tag AND f.t = g.t0
JOIN samples AS l ON l.tag = :tag AND l.t = g.t1
ORDER BY g.k
"""
_COLUMNS = "t, n, good, valued, mn, mx, sm, area, cov, f, ft, l, lt"
# The minutes listed in todo, recomputed from their samples (d.t is the minute's start).
_MINUTES = f"""
INSERT OR REPLACE INTO rollups (tag, w, {_COLUMNS})
SELECT g.tag, :w, g.m, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.v, g.t0, l.v,
       g.t1
FROM (
    SELECT d.tag AS tag, d.t AS m, count(*) AS n, sum(s.q = 1) AS good, count(s.v) AS valued,
           min(s.v) AS mn, max(s.v) AS mx, total(s.v) AS sm,
           total(s.v * min(ifnull(s.h, :w), d.t + :w - s.t)) AS area,
           CAST(total(CASE WHEN s.v IS NOT NULL THEN min(ifnull(s.h, :w), d.t + :w - s.t) END)
                AS INTEGER) AS cov,
           min(s.t) AS t0, max(s.t) AS t1
    FROM temp.todo AS d JOIN samples AS s ON s.tag = d.tag AND s.t >= d.t AND s.t < d.t + :w
    GROUP BY d.tag, d.t) AS g
JOIN samples AS f ON f.tag = g.tag AND f.t = g.t0
JOIN samples AS l ON l.tag = g.tag AND l.t = g.t1
"""
# The hours listed in todo, from their stored minutes: a minute's last value holds on to
# the next minute's first sample (nft) or the hour's end (see sdk.historian.combine).
_HOURS = f"""
INSERT OR REPLACE INTO rollups (tag, w, {_COLUMNS})
SELECT g.tag, :h, g.hour, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.f, g.ft,
       l.l, g.lt
FROM (
    SELECT tag, hour, sum(n) AS n, sum(good) AS good, sum(valued) AS valued, min(mn) AS mn,
           max(mx) AS mx, total(sm) AS sm,
           total(area) + total(l * (ifnull(nft, hour + :h) - t - :w)) AS area,
           CAST(total(cov) + total(CASE WHEN l IS NOT NULL THEN ifnull(nft, hour + :h) - t - :w
                END) AS INTEGER) AS cov,
           min(t) AS t0, max(t) AS t1, min(ft) AS ft, max(lt) AS lt
    FROM (
        SELECT r.*, d.t AS hour, lead(r.ft) OVER (PARTITION BY r.tag, d.t ORDER BY r.t) AS nft
        FROM temp.todo AS d
        JOIN rollups AS r ON r.tag = d.tag AND r.w = :w AND r.t >= d.t AND r.t < d.t + :h)
    GROUP BY tag, hour) AS g
JOIN rollups AS f ON f.tag = g.tag AND f.w = :w AND f.t = g.t0
JOIN rollups AS l ON l.tag = g.tag AND l.w = :w AND l.t = g.t1
"""
_FIX_HOLDS = """
UPDATE samples SET h = (SELECT min(n.t) FROM samples AS n WHERE n.tag = :tag AND n.t > samples.t)
    - t
WHERE tag = :tag AND t >= :lo AND t <= :hi
"""
_SPLIT_US = 6 * 3_600_000_000
"""Aggregates over longer ranges than this run as two parallel scans."""
_TODO = "CREATE TEMP TABLE IF NOT EXISTS todo (tag INTEGER, t INTEGER, PRIMARY KEY (tag, t))"


class SqliteSettings(BaseModel):
    """Where the database lives and how hard it syncs."""

    model_config = ConfigDict(extra="forbid")

    path: str = "historian.sqlite"
    """The database file, relative to the historian's data directory."""
    synchronous: Literal["full", "normal"] = "full"
    """``full`` syncs every commit to disk (nothing acknowledged is lost on power loss);
    ``normal`` syncs at checkpoints (safe against a crash of the process, not the box)."""
    cache_mb: int = Field(default=16, ge=1)
    """SQLite's page cache per connection."""


def _failure(err: sqlite3.Error | OSError) -> StoreUnavailable:
    """The store's error for a failed statement, with SQLite's own words."""
    full = (
        getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or getattr(err, "errno", None) == errno.ENOSPC
    )
    cls = StoreFull if full else StoreUnavailable
    return cls(f"SQLite historian store: {err}")


class SqliteStore(HistorianStore[SqliteSettings]):
    """The built-in embedded store."""

    manifest: ClassVar[PluginManifest] = PluginManifest(
        "sqlite", "0.1.0", API_VERSION, "embedded SQLite (WAL) historian store"
    )
    Settings: ClassVar[type[BaseModel]] = SqliteSettings

    def __init__(self, settings: SqliteSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.path = Path(context.data_dir) / settings.path
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._w: sqlite3.Connection | None = None
        self._ids: dict[str, int] = {}
        self._last: dict[int, int] = {}
        """Tag id -> its latest sample time, as committed."""

    # -- plumbing ---------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA cache_size = -{self.settings.cache_mb * 1024}")
        conn.execute("PRAGMA busy_timeout = 5000")
        self._connections.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
        return conn

    async def _run(self, pool: ThreadPoolExecutor | None, fn: Callable[[], T]) -> T:
        if pool is None:
            raise StoreUnavailable("SQLite historian store is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn)
        except (sqlite3.Error, OSError) as err:
            raise _failure(err) from err

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(self._readers, lambda: fn(self._reader()))

    # -- lifecycle --------------------------------------------------------------

    async def open(self) -> None:
        """Create the directory, the database and its schema."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="historian-sqlite-write")
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="historian-sqlite-read")

        def setup() -> None:
            conn = self._connect()
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.settings.synchronous.upper()}")
            conn.executescript(_SCHEMA)
            conn.execute(_TODO)
            self._ids = dict(conn.execute("SELECT path, id FROM tags"))
            self._w = conn

        await self._run(self._writer, setup)

    async def close(self) -> None:
        """Finish running statements, close every connection, stop the threads."""
        for pool in (self._writer, self._readers):
            if pool is not None:
                pool.shutdown(wait=True)
        self._writer = self._readers = None
        for conn in self._connections:
            conn.close()
        self._connections.clear()
        self._w = None

    async def size_bytes(self) -> int:
        """The database file and its WAL."""
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists())

    # -- writes -----------------------------------------------------------------

    async def position(self, stream: str) -> int:
        """The committed sequence of ``stream``."""

        def get(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT seq FROM positions WHERE stream = ?", (stream,)).fetchone()
            return int(row[0]) if row else 0

        return await self._read(get)

    async def write(self, batch: WriteBatch) -> None:
        """Samples, holds, rollups, events and positions in one transaction."""
        await self._run(self._writer, lambda: self._write(batch))

    def _write(self, batch: WriteBatch) -> None:
        conn = self._w
        assert conn is not None
        ids = dict(self._ids)
        last: dict[int, int] = {}
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._put_rollups(conn, self._put_samples(conn, batch.samples, ids, last))
            if batch.events:
                conn.executemany(
                    "INSERT INTO events (kind, scope, t, key, data) VALUES (?, ?, ?, ?, ?)",
                    batch.events,
                )
            conn.executemany(
                "INSERT INTO positions VALUES (?, ?) "
                "ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq",
                batch.positions.items(),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._ids = ids
        self._last.update(last)

    def _tag_id(self, conn: sqlite3.Connection, path: str, ids: dict[str, int]) -> int:
        found = ids.get(path)
        if found is None:
            found = int(
                conn.execute("INSERT INTO tags (path) VALUES (?) RETURNING id", (path,)).fetchone()[
                    0
                ]
            )
            ids[path] = found
        return found

    def _latest(self, conn: sqlite3.Connection, tag: int) -> int | None:
        if tag in self._last:
            return self._last[tag]
        row = conn.execute("SELECT max(t) FROM samples WHERE tag = ?", (tag,)).fetchone()
        return None if row[0] is None else int(row[0])

    def _put_samples(
        self,
        conn: sqlite3.Connection,
        samples: Sequence[Sample],
        ids: dict[str, int],
        last: dict[int, int],
    ) -> list[tuple[int, int]]:
        """Insert ``samples`` with their holds; return the (tag id, minute) pairs that are
        closed and need their rollup (re)computed: touched minutes before the tag's latest
        minute, and the minute that was the latest before this batch."""
        by_tag: dict[int, list[Sample]] = {}
        for s in samples:
            tag = ids.get(s.tag)
            if tag is None:
                tag = self._tag_id(conn, s.tag, ids)
            by_tag.setdefault(tag, []).append(s)
        rows: list[tuple[Any, ...]] = []
        appended: list[tuple[int, int, int]] = []
        late: list[tuple[int, int, int]] = []
        closed: list[tuple[int, int]] = []
        for tag, group in by_tag.items():
            group.sort(key=attrgetter("time_us"))
            times = [s.time_us for s in group]
            holds: list[int | None] = [b - a for a, b in itertools.pairwise(times)]
            holds.append(None)
            rows += [
                (tag, s.time_us, s.value, s.text, s.quality, s.receive_us - s.time_us, h)
                for s, h in zip(group, holds, strict=True)
            ]
            latest = self._latest(conn, tag)
            if latest is None or times[0] > latest:
                if latest is not None:
                    appended.append((times[0] - latest, tag, latest))
            else:
                late.append((tag, times[0], times[-1]))
            newest = times[-1] if latest is None else max(latest, times[-1])
            last[tag] = newest
            still_open = newest - newest % MINUTE_US
            minutes = {t - t % MINUTE_US for t in times}
            if latest is not None:
                minutes.add(latest - latest % MINUTE_US)
            closed.extend((tag, m) for m in minutes if m < still_open)
        conn.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("UPDATE samples SET h = ? WHERE tag = ? AND t = ?", appended)
        for tag, lo, hi in late:
            before = conn.execute(
                "SELECT max(t) FROM samples WHERE tag = ? AND t < ?", (tag, lo)
            ).fetchone()[0]
            conn.execute(_FIX_HOLDS, {"tag": tag, "lo": lo if before is None else before, "hi": hi})
        return closed

    @staticmethod
    def _put_rollups(conn: sqlite3.Connection, minutes: list[tuple[int, int]]) -> None:
        """Recompute the closed minutes from their samples and their hours from the
        minutes, each kind in one statement. A tag's latest minute stays open: it is
        computed when read, and stored once a later sample closes it."""
        if not minutes:
            return
        conn.execute("DELETE FROM temp.todo")
        conn.executemany("INSERT OR IGNORE INTO temp.todo VALUES (?, ?)", minutes)
        conn.execute(_MINUTES, {"w": MINUTE_US})
        conn.execute("DELETE FROM temp.todo")
        hours = {(tag, m - m % HOUR_US) for tag, m in minutes}
        conn.executemany("INSERT INTO temp.todo VALUES (?, ?)", hours)
        conn.execute(_HOURS, {"w": MINUTE_US, "h": HOUR_US})

    @staticmethod
    def _rollups(
        conn: sqlite3.Connection, tag: int, width: int, start: int, end: int
    ) -> list[Bucket]:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM rollups WHERE tag = ? AND w = ? AND t >= ? AND t < ?"
            " ORDER BY t",
            (tag, width, start, end),
        )
        return [Bucket._make(row) for row in rows]

    async def expire(
        self,
        samples_before_us: int,
        rollups_before_us: Mapping[int, int],
        events_before_us: Mapping[str, int],
    ) -> int:
        """Delete by tag and time range (the primary keys), events by time."""

        def expire() -> int:
            conn = self._w
            assert conn is not None
            deleted = 0
            conn.execute("BEGIN IMMEDIATE")
            try:
                for tag in self._ids.values():
                    deleted += conn.execute(
                        "DELETE FROM samples WHERE tag = ? AND t < ?", (tag, samples_before_us)
                    ).rowcount
                    for width, before in rollups_before_us.items():
                        deleted += conn.execute(
                            "DELETE FROM rollups WHERE tag = ? AND w = ? AND t < ?",
                            (tag, width, before),
                        ).rowcount
                for kind, before in events_before_us.items():
                    deleted += conn.execute(
                        "DELETE FROM events WHERE t < ? AND kind = ?", (before, kind)
                    ).rowcount
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return deleted

        return await self._run(self._writer, expire)

    # -- reads ------------------------------------------------------------------

    async def tags(self) -> list[str]:
        """Every tag path, sorted."""
        return await self._read(
            lambda conn: [row[0] for row in conn.execute("SELECT path FROM tags ORDER BY path")]
        )

    def _id(self, conn: sqlite3.Connection, tag: str) -> int | None:
        found = self._ids.get(tag)
        if found is None:
            row = conn.execute("SELECT id FROM tags WHERE path = ?", (tag,)).fetchone()
            found = row[0] if row else None
        return found

    @staticmethod
    def _sample(tag: str, row: Sequence[Any]) -> Sample:
        return Sample(tag, row[0], row[1], row[2], row[3], row[0] + row[4])

    async def samples(
        self, tag: str, start_us: int, end_us: int, limit: int, after_us: int | None = None
    ) -> list[Sample]:
        """Raw samples by primary key range."""

        def get(conn: sqlite3.Connection) -> list[Sample]:
            tid = self._id(conn, tag)
            if tid is None:
                return []
            lo = start_us if after_us is None else max(start_us, after_us + 1)
            rows = conn.execute(
                "SELECT t, v, s, q, r FROM samples WHERE tag = ? AND t >= ? AND t < ? "
                "ORDER BY t LIMIT ?",
                (tid, lo, end_us, limit),
            )
            return [self._sample(tag, row) for row in rows]

        return await self._read(get)

    async def around(self, tag: str, time_us: int) -> tuple[Sample | None, Sample | None]:
        """Two primary-key seeks."""

        def get(conn: sqlite3.Connection) -> tuple[Sample | None, Sample | None]:
            tid = self._id(conn, tag)
            if tid is None:
                return None, None
            before = conn.execute(
                "SELECT t, v, s, q, r FROM samples WHERE tag = ? AND t <= ? ORDER BY t DESC "
                "LIMIT 1",
                (tid, time_us),
            ).fetchone()
            after = conn.execute(
                "SELECT t, v, s, q, r FROM samples WHERE tag = ? AND t > ? ORDER BY t LIMIT 1",
                (tid, time_us),
            ).fetchone()
            return (
                self._sample(tag, before) if before else None,
                self._sample(tag, after) if after else None,
            )

        return await self._read(get)

    async def aggregate(self, tag: str, start_us: int, end_us: int, width_us: int) -> list[Bucket]:
        """One GROUP BY over the primary-key range; a long range is split at a bucket
        boundary and both halves scanned at once, on the two reader threads."""

        def part(lo: int, hi: int) -> Callable[[sqlite3.Connection], list[Bucket]]:
            def get(conn: sqlite3.Connection) -> list[Bucket]:
                tid = self._id(conn, tag)
                if tid is None:
                    return []
                params = {"tag": tid, "o": start_us, "s": lo, "e": hi, "w": width_us}
                return [Bucket._make(row) for row in conn.execute(_AGGREGATE, params)]

            return get

        buckets = (end_us - start_us) // width_us
        if buckets < 2 or end_us - start_us < _SPLIT_US:
            return await self._read(part(start_us, end_us))
        middle = start_us + buckets // 2 * width_us
        halves = await asyncio.gather(
            self._read(part(start_us, middle)), self._read(part(middle, end_us))
        )
        return halves[0] + halves[1]

    async def rollups(self, tag: str, width_us: int, start_us: int, end_us: int) -> list[Bucket]:
        """Stored rollups by primary key range, with the tag's open minute (and the bucket
        that holds it) computed from the samples, in one read transaction."""

        def get(conn: sqlite3.Connection) -> list[Bucket]:
            tid = self._id(conn, tag)
            if tid is None:
                return []
            conn.execute("BEGIN")
            try:
                stored = self._rollups(conn, tid, width_us, start_us, end_us)
                newest = conn.execute("SELECT max(t) FROM samples WHERE tag = ?", (tid,))
                latest = newest.fetchone()[0]
                if latest is None:
                    return stored
                minute = latest - latest % MINUTE_US
                bucket = minute - minute % width_us
                if not start_us <= bucket < end_us:
                    return stored
                params = {"tag": tid, "o": minute, "s": minute, "e": minute + MINUTE_US}
                params["w"] = MINUTE_US
                fresh = [Bucket._make(row) for row in conn.execute(_AGGREGATE, params)]
                if width_us != MINUTE_US:
                    minutes = self._rollups(conn, tid, MINUTE_US, bucket, minute)
                    fresh = combine(minutes + fresh, MINUTE_US, bucket, width_us)
                return [b for b in stored if b.start_us != bucket] + fresh
            finally:
                conn.execute("COMMIT")

        return await self._read(get)

    async def events(
        self,
        kinds: Sequence[str],
        scope: str,
        start_us: int,
        end_us: int,
        limit: int,
        after: tuple[int, int] = (0, 0),
    ) -> list[tuple[int, Event]]:
        """Events by the (time, id) index."""
        where = ["t >= ?", "t < ?", "(t, id) > (?, ?)"]
        params: list[Any] = [start_us, end_us, *after]
        if kinds:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            params.extend(kinds)
        if scope:
            where.append("(scope = ? OR substr(scope, 1, ?) = ?)")
            params.extend([scope, len(scope) + 1, f"{scope}/"])
        sql = (
            f"SELECT id, kind, scope, t, key, data FROM events WHERE {' AND '.join(where)} "
            "ORDER BY t, id LIMIT ?"
        )

        def get(conn: sqlite3.Connection) -> list[tuple[int, Event]]:
            return [(row[0], Event(*row[1:])) for row in conn.execute(sql, (*params, limit))]

        return await self._read(get)
