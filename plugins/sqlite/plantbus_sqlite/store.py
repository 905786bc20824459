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
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from plantbus.sdk import API_VERSION
from plantbus.sdk.historian import (
    Bucket,
    Cutoffs,
    Event,
    EventQuery,
    HistorianStore,
    Sample,
    StoreFull,
    StoreUnavailable,
    WriteBatch,
    stored_sample,
)
from plantbus.sdk.plugin import PluginManifest
from plantbus_sqlite import reads, sql
from plantbus_sqlite.writes import Writer

__all__ = ["SqliteSettings", "SqliteStore"]

T = TypeVar("T")


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

    Settings: ClassVar[type[BaseModel]] = SqliteSettings
    manifest: ClassVar[PluginManifest] = PluginManifest(
        "sqlite", "0.1.0", API_VERSION, "embedded SQLite (WAL) historian store"
    )

    def __init__(self, settings: SqliteSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.path = Path(context.data_dir) / settings.path
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._w: Writer | None = None

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
            conn.executescript(sql.SCHEMA)
            conn.execute(sql.TODO)
            self._w = Writer(conn)

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
        writer = self._writer_of()
        await self._run(self._writer, lambda: writer.write(batch))

    def _writer_of(self) -> Writer:
        if self._w is None:
            raise StoreUnavailable("SQLite historian store is not open")
        return self._w

    async def delete_older(self, cut: Cutoffs) -> int:
        """Delete by tag and time range (the primary keys), events by time."""
        writer = self._writer_of()
        return await self._run(self._writer, lambda: writer.expire(*cut))

    # -- reads ------------------------------------------------------------------

    async def tags(self) -> list[str]:
        """Every tag path, sorted."""
        return await self._read(
            lambda conn: [row[0] for row in conn.execute("SELECT path FROM tags ORDER BY path")]
        )

    def _id(self, conn: sqlite3.Connection, tag: str) -> int | None:
        found = self._w.ids.get(tag) if self._w else None
        if found is None:
            row = conn.execute("SELECT id FROM tags WHERE path = ?", (tag,)).fetchone()
            found = row[0] if row else None
        return found

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
            return [stored_sample(tag, row) for row in rows]

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
                stored_sample(tag, before) if before else None,
                stored_sample(tag, after) if after else None,
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
                return [Bucket._make(row) for row in conn.execute(sql.AGGREGATE, params)]

            return get

        buckets = (end_us - start_us) // width_us
        if buckets < 2 or end_us - start_us < sql.SPLIT_US:
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
            return [] if tid is None else reads.rollups(conn, tid, width_us, start_us, end_us)

        return await self._read(get)

    async def find_events(self, query: EventQuery, limit: int) -> list[tuple[int, Event]]:
        """Events by the (time, id) index."""
        where, params = query.where("?")
        statement = (
            f"SELECT id, kind, scope, t, key, data FROM events WHERE {where} ORDER BY t, id LIMIT ?"
        )

        def get(conn: sqlite3.Connection) -> list[tuple[int, Event]]:
            return [(row[0], Event(*row[1:])) for row in conn.execute(statement, (*params, limit))]

        return await self._read(get)
