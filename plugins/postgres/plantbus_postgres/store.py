"""The PostgreSQL historian store: psycopg 3, samples by binary COPY into a table
partitioned by time (declarative range partitions, one per ``partition_days``), or a
TimescaleDB hypertable with compression when the extension is there (detected at open).

Same layout as the embedded store (plugins/sqlite; docs/historian.md): integer tag ids,
samples keyed by (tag, time) with ``h`` (how long the value held), minute and hour
rollups keyed by (tag, width, start), events with their protobuf payload and a JSON copy
(``doc``) for the IT views (:mod:`plantbus_postgres.views`), positions by stream.

A batch that only appends to its tags is copied straight into ``samples``; one with late
or repeated samples goes through a temporary table and ``INSERT ... ON CONFLICT``. One
connection writes; reads take one of ``read_connections`` others, so they run beside a
write. A lost connection (a server restart) raises StoreUnavailable and is made anew on
the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, ClassVar, Literal

import psycopg
from psycopg import sql as pgsql
from pydantic import BaseModel, ConfigDict, Field, SecretStr

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
from plantbus_postgres import sql
from plantbus_postgres.docs import event_doc
from plantbus_postgres.views import VIEW_NAMES, VIEWS

__all__ = ["PostgresSettings", "PostgresStore"]

_DAY_US = 86_400_000_000
_TAG_TIME = itemgetter(0, 1)
_FULL = {"53100", "53200", "53400"}  # disk_full, out_of_memory, configuration_limit_exceeded


class PostgresSettings(BaseModel):
    """Where the database is and how samples are laid out."""

    model_config = ConfigDict(extra="forbid")

    dsn: str = "dbname=plantbus"
    """A libpq connection string or URI without the password; PG* variables and
    ~/.pgpass of the historian's process apply as for psql."""
    password: SecretStr | None = None
    """The role's password, when not in ~/.pgpass (a config secret; never logged)."""
    db_schema: str = Field(default="plantbus", alias="schema", pattern=r"^[a-z_][a-z0-9_]*$")
    """The schema of the tables and views; created when missing."""
    partition_days: int = Field(default=1, ge=1, le=31)
    """Days per samples partition (or TimescaleDB chunk)."""
    timescaledb: Literal["auto", "off", "required"] = "auto"
    """``auto`` uses TimescaleDB when the server has the extension, ``required`` refuses
    to open without it, ``off`` keeps native partitions."""
    compress_after_days: int = Field(default=7, ge=1)
    """TimescaleDB only: chunks older than this are compressed."""
    grant_views_to: list[str] = []
    """Roles given read access to the views (and nothing else) at every open: the IT
    door for Grafana and SQL tools (docs/historian.md); the roles must exist."""
    read_connections: int = Field(default=2, ge=1, le=16)
    connect_timeout_s: float = Field(default=5.0, gt=0)


def _failure(err: psycopg.Error) -> StoreUnavailable:
    """The store's error for a failed statement, with the server's own words."""
    cls = StoreFull if getattr(err, "sqlstate", None) in _FULL else StoreUnavailable
    return cls(f"PostgreSQL historian store: {str(err).strip() or type(err).__name__}")


def _rows(
    samples: Sequence[Sample], ids: Mapping[str, int]
) -> tuple[list[tuple[Any, ...]], dict[int, tuple[int, int, set[int]]]]:
    """The samples as rows (tag id, time, value, text, quality, receive offset, hold) in
    (tag, time) order, the last of equal (tag, time) kept as on conflict; and per tag id
    its first and last time and the minutes it touches. One sort and one pass: a batch
    holds about ten samples of each of many tags, so per-tag work is kept small."""
    order = sorted(samples, key=_TAG_TIME)
    rows: list[tuple[Any, ...]] = []
    spans: dict[int, tuple[int, int, set[int]]] = {}
    nexts = itertools.chain(itertools.islice(order, 1, None), (None,))
    tag, first = -1, 0
    minutes: set[int] = set()
    path: str | None = None
    for s, n in zip(order, nexts, strict=True):
        t = s.time_us
        if s.tag != path:
            path, tag, first, minutes = s.tag, ids[s.tag], t, set()
        if n is not None and n.tag == path:
            if n.time_us == t:
                continue  # the later one replaces it
            hold: int | None = n.time_us - t
        else:
            hold = None
            spans[tag] = (first, t, minutes)
        minutes.add(t - t % MINUTE_US)
        rows.append((tag, t, s.value, s.text, s.quality, s.receive_us - t, hold))
    return rows, spans


class PostgresStore(HistorianStore[PostgresSettings]):
    """The store for scale, and the IT door (views for SQL tools and Grafana)."""

    manifest: ClassVar[PluginManifest] = PluginManifest(
        "postgres", "0.1.0", API_VERSION, "PostgreSQL (partitioned, TimescaleDB) historian store"
    )
    Settings: ClassVar[type[BaseModel]] = PostgresSettings

    def __init__(self, settings: PostgresSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.schema = settings.db_schema
        self.timescale = False
        """Whether samples is a TimescaleDB hypertable (known after open)."""
        self._w: psycopg.AsyncConnection[Any] | None = None
        self._readers: asyncio.Queue[psycopg.AsyncConnection[Any] | None] | None = None
        self._write_lock = asyncio.Lock()
        self._ids: dict[str, int] = {}
        self._last: dict[int, int] = {}
        """Tag id -> its latest sample time, as committed."""
        self._partitions: set[int] = set()
        """Starts (us) of the samples partitions that exist."""

    def _q(self, template: str, **extra: object) -> str:
        return template.format(s=self.schema, **extra)

    # -- connections ------------------------------------------------------------

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        s = self.settings
        extra: dict[str, Any] = {"connect_timeout": max(1, round(s.connect_timeout_s))}
        if s.password is not None:
            extra["password"] = s.password.get_secret_value()
        try:
            return await psycopg.AsyncConnection.connect(s.dsn, autocommit=True, **extra)
        except psycopg.Error as err:
            raise _failure(err) from err

    async def _writer(self) -> psycopg.AsyncConnection[Any]:
        if self._readers is None:
            raise StoreUnavailable("PostgreSQL historian store is not open")
        if self._w is None or self._w.closed or self._w.broken:
            self._w = await self._connect()
        return self._w

    @contextlib.asynccontextmanager
    async def _reader(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A read connection for the block; a broken one is replaced."""
        if self._readers is None:
            raise StoreUnavailable("PostgreSQL historian store is not open")
        readers = self._readers
        conn = await readers.get()
        try:
            if conn is None or conn.closed or conn.broken:
                conn = await self._connect()
            yield conn
        except psycopg.Error as err:
            raise _failure(err) from err
        finally:
            readers.put_nowait(conn)

    async def _rows(self, query: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        async with self._reader() as conn:
            cur = await conn.execute(query, params)  # type: ignore[arg-type]
            return await cur.fetchall()

    # -- lifecycle --------------------------------------------------------------

    async def open(self) -> None:
        """Connect, detect TimescaleDB, create the schema, tables and views."""
        self._readers = asyncio.Queue()
        for _ in range(self.settings.read_connections):
            self._readers.put_nowait(None)
        try:
            conn = await self._writer()
            await self._setup(conn)
        except psycopg.Error as err:
            raise _failure(err) from err

    async def _setup(self, conn: psycopg.AsyncConnection[Any]) -> None:
        s = self.settings
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('plantbus historian'))")
            await conn.execute(
                pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(self.schema))
            )
            made = await self._existing_layout(conn)
            self.timescale = made == "r" if made else await self._timescale(conn)
            await conn.execute(self._q(sql.TABLES))
            if made is None and self.timescale:
                await conn.execute(self._q(sql.PLAIN))
                await conn.execute(
                    self._q(
                        sql.HYPERTABLE,
                        chunk=s.partition_days * _DAY_US,
                        after=s.compress_after_days * _DAY_US,
                    )
                )
            elif made is None:
                await conn.execute(self._q(sql.PARTITIONED))
            await conn.execute(self._q(VIEWS))
            await self._grant(conn)
        cur = await conn.execute(self._q("SELECT path, id FROM {s}.tags"))
        self._ids = dict(await cur.fetchall())
        if not self.timescale:
            cur = await conn.execute(self._q(sql.PARTITIONS))
            self._partitions = {int(name.rsplit("_", 1)[1]) for (name,) in await cur.fetchall()}
        self.context.log.info(
            "PostgreSQL historian store: schema %s, samples %s",
            self.schema,
            "in a TimescaleDB hypertable" if self.timescale else "in native partitions",
        )

    async def _grant(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """USAGE on the schema and SELECT on its views, for each configured role."""
        for role in self.settings.grant_views_to:
            ident = {"schema": pgsql.Identifier(self.schema), "role": pgsql.Identifier(role)}
            usage = pgsql.SQL("GRANT USAGE ON SCHEMA {schema} TO {role}")
            await conn.execute(usage.format(**ident))
            for view in VIEW_NAMES:
                await conn.execute(
                    pgsql.SQL("GRANT SELECT ON {schema}.{view} TO {role}").format(
                        view=pgsql.Identifier(view), **ident
                    )
                )

    async def _existing_layout(self, conn: psycopg.AsyncConnection[Any]) -> str | None:
        """How an existing samples table was made: ``p`` (native partitions), ``r`` (a
        TimescaleDB hypertable, the only plain samples table the store makes); None when
        there is none. A store keeps the layout it was made with."""
        cur = await conn.execute(
            "SELECT c.relkind FROM pg_class AS c JOIN pg_namespace AS n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 'samples'",
            (self.schema,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        layout = str(row[0])
        if layout == "p" and self.settings.timescaledb == "required":
            raise StoreUnavailable(
                f"PostgreSQL historian store: timescaledb: required, but {self.schema}.samples "
                "was made with native partitions; keep timescaledb: auto, or move the data "
                "into a new schema (setting schema) made with TimescaleDB"
            )
        return layout

    async def _timescale(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        """Whether to use TimescaleDB: the setting and what the server offers."""
        mode = self.settings.timescaledb
        if mode == "off":
            return False
        cur = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        if await cur.fetchone() is None:
            if mode == "required":
                raise StoreUnavailable(
                    "PostgreSQL historian store: timescaledb: required, but the server has no "
                    "timescaledb extension; install it on the server (and add it to "
                    "shared_preload_libraries) or set timescaledb: auto"
                )
            return False
        await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        return True

    async def close(self) -> None:
        """Close every connection; safe twice."""
        conns = [self._w]
        while self._readers is not None and not self._readers.empty():
            conns.append(self._readers.get_nowait())
        self._w, self._readers = None, None
        for conn in conns:
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    await conn.close()

    async def size_bytes(self) -> int:
        """The tables and indexes of the schema."""
        rows = await self._rows(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            (self.schema,),
        )
        return int(rows[0][0])

    # -- writes -----------------------------------------------------------------

    async def position(self, stream: str) -> int:
        """The committed sequence of ``stream``."""
        query = self._q("SELECT seq FROM {s}.positions WHERE stream = %s")
        rows = await self._rows(query, (stream,))
        return int(rows[0][0]) if rows else 0

    async def write(self, batch: WriteBatch) -> None:
        """Samples, holds, rollups, events and positions in one transaction."""
        async with self._write_lock:
            try:
                conn = await self._writer()
                await self._ensure_partitions(conn, batch.samples)
                await self._write(conn, batch)
            except psycopg.Error as err:
                raise _failure(err) from err

    async def _ensure_partitions(
        self, conn: psycopg.AsyncConnection[Any], samples: Sequence[Sample]
    ) -> None:
        """Create the partitions the samples fall in (committed on their own: an empty
        partition left by a failed write is harmless)."""
        if self.timescale or not samples:
            return
        width = self.settings.partition_days * _DAY_US
        starts = {s.time_us - s.time_us % width for s in samples} - self._partitions
        for lo in sorted(starts):
            await conn.execute(self._q(sql.PARTITION, name=f"samples_{lo}", lo=lo, hi=lo + width))
            self._partitions.add(lo)

    async def _write(self, conn: psycopg.AsyncConnection[Any], batch: WriteBatch) -> None:
        ids = dict(self._ids)
        last: dict[int, int] = {}
        async with conn.transaction():
            closed = await self._put_samples(conn, batch.samples, ids, last)
            await self._put_rollups(conn, closed)
            if batch.events:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        self._q(
                            "INSERT INTO {s}.events (kind, scope, t, key, data, doc) "
                            "VALUES (%s, %s, %s, %s, %s, %s)"
                        ),
                        [(*e, event_doc(e.kind, e.data)) for e in batch.events],
                    )
            if batch.positions:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        self._q(
                            "INSERT INTO {s}.positions VALUES (%s, %s) "
                            "ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq"
                        ),
                        list(batch.positions.items()),
                    )
        self._ids = ids
        self._last.update(last)

    async def _tag_ids(
        self, conn: psycopg.AsyncConnection[Any], paths: set[str], ids: dict[str, int]
    ) -> None:
        new = sorted(paths - ids.keys())
        if new:
            cur = await conn.execute(
                self._q(
                    "INSERT INTO {s}.tags (path) SELECT unnest(%s::text[]) "
                    "ON CONFLICT (path) DO UPDATE SET path = excluded.path RETURNING path, id"
                ),
                (new,),
            )
            ids.update(await cur.fetchall())

    async def _latest(self, conn: psycopg.AsyncConnection[Any], tags: list[int]) -> dict[int, int]:
        """The committed latest sample time of each tag that has one."""
        out = {t: self._last[t] for t in tags if t in self._last}
        unknown = [t for t in tags if t not in self._last]
        if unknown:
            cur = await conn.execute(self._q(sql.LATEST), (unknown,))
            out.update({tag: t for tag, t in await cur.fetchall() if t is not None})
        return out

    async def _put_samples(
        self,
        conn: psycopg.AsyncConnection[Any],
        samples: Sequence[Sample],
        ids: dict[str, int],
        last: dict[int, int],
    ) -> list[tuple[int, int]]:
        """Store ``samples`` with their holds; return the closed (tag id, minute) pairs
        whose rollups need (re)computing, as the SQLite store does."""
        if not samples:
            return []
        await self._tag_ids(conn, {s.tag for s in samples}, ids)
        rows, spans = _rows(samples, ids)
        latest = await self._latest(conn, list(spans))
        appended: list[tuple[int, int, int]] = []
        late: list[tuple[int, int, int]] = []
        closed: list[tuple[int, int]] = []
        for tag, (lo, hi, minutes) in spans.items():
            before = latest.get(tag)
            if before is None or lo > before:
                if before is not None:
                    appended.append((tag, before, lo - before))
            else:
                late.append((tag, lo, hi))
            newest = hi if before is None else max(before, hi)
            last[tag] = newest
            still_open = newest - newest % MINUTE_US
            if before is not None:
                minutes.add(before - before % MINUTE_US)
            closed.extend((tag, m) for m in minutes if m < still_open)
        if late:
            await conn.execute(self._q(sql.INCOMING))
        await self._copy(conn, "incoming" if late else self._q("{s}.samples"), rows)
        if late:
            await conn.execute(self._q(sql.UPSERT))
        if appended:
            tags, times, holds = ([*col] for col in zip(*appended, strict=True))
            params: dict[str, Any] = {"tags": tags, "times": times, "holds": holds}
            params["lo"], params["hi"] = min(times), max(times)  # prunes partitions
            await conn.execute(self._q(sql.SET_HOLDS), params)
        for tag, lo, hi in late:
            cur = await conn.execute(self._q(sql.BEFORE), (tag, lo))
            (prev,) = await cur.fetchone() or (None,)
            params = {"tag": tag, "lo": lo if prev is None else prev, "hi": hi}
            await conn.execute(self._q(sql.FIX_HOLDS), params)
        return closed

    @staticmethod
    async def _copy(conn: psycopg.AsyncConnection[Any], table: str, rows: list[Any]) -> None:
        query = sql.COPY_SAMPLES.format(table=table)
        async with conn.cursor() as cur, cur.copy(query) as copy:
            copy.set_types(sql.SAMPLE_TYPES)
            for row in rows:
                await copy.write_row(row)

    async def _put_rollups(
        self, conn: psycopg.AsyncConnection[Any], minutes: list[tuple[int, int]]
    ) -> None:
        """Recompute the closed minutes from their samples and their hours from the
        minutes, each kind in one statement; a tag's latest minute stays open (computed
        when read)."""
        if not minutes:
            return
        unique = sorted(set(minutes))
        params: dict[str, Any] = {"w": MINUTE_US, "h": HOUR_US}
        params["tags"], params["starts"] = (list(c) for c in zip(*unique, strict=True))
        await conn.execute(self._q(sql.MINUTES), params)
        hours = sorted({(tag, m - m % HOUR_US) for tag, m in unique})
        params["tags"], params["starts"] = (list(c) for c in zip(*hours, strict=True))
        await conn.execute(self._q(sql.HOURS), params)

    async def expire(
        self,
        samples_before_us: int,
        rollups_before_us: Mapping[int, int],
        events_before_us: Mapping[str, int],
    ) -> int:
        """Drop whole samples partitions below the cut-off, delete the rest by range."""
        async with self._write_lock:
            try:
                conn = await self._writer()
                async with conn.transaction():
                    deleted = await self._drop_partitions(conn, samples_before_us)
                    cur = await conn.execute(
                        self._q("DELETE FROM {s}.samples WHERE t < %s"), (samples_before_us,)
                    )
                    deleted += cur.rowcount
                    for width, before in rollups_before_us.items():
                        cur = await conn.execute(
                            self._q("DELETE FROM {s}.rollups WHERE w = %s AND t < %s"),
                            (width, before),
                        )
                        deleted += cur.rowcount
                    for kind, before in events_before_us.items():
                        cur = await conn.execute(
                            self._q("DELETE FROM {s}.events WHERE kind = %s AND t < %s"),
                            (kind, before),
                        )
                        deleted += cur.rowcount
            except psycopg.Error as err:
                raise _failure(err) from err
        self._last.clear()  # a tag may have lost every sample
        return deleted

    async def _drop_partitions(self, conn: psycopg.AsyncConnection[Any], before_us: int) -> int:
        if self.timescale:
            return 0
        width = self.settings.partition_days * _DAY_US
        gone = sorted(lo for lo in self._partitions if lo + width <= before_us)
        deleted = 0
        for lo in gone:
            name = f"samples_{lo}"
            cur = await conn.execute(self._q("SELECT count(*) FROM {s}.{name}", name=name))
            deleted += (await cur.fetchone() or (0,))[0]
            await conn.execute(self._q("DROP TABLE {s}.{name}", name=name))
        self._partitions.difference_update(gone)
        return deleted

    # -- reads ------------------------------------------------------------------

    async def tags(self) -> list[str]:
        """Every tag path, sorted."""
        rows = await self._rows(self._q("SELECT path FROM {s}.tags ORDER BY path"), ())
        return [row[0] for row in rows]

    async def _id(self, tag: str) -> int | None:
        found = self._ids.get(tag)
        if found is None:
            rows = await self._rows(self._q("SELECT id FROM {s}.tags WHERE path = %s"), (tag,))
            found = rows[0][0] if rows else None
        return found

    @staticmethod
    def _sample(tag: str, row: Sequence[Any]) -> Sample:
        return Sample(tag, row[0], row[1], row[2], row[3], row[0] + row[4])

    async def samples(
        self, tag: str, start_us: int, end_us: int, limit: int, after_us: int | None = None
    ) -> list[Sample]:
        """Raw samples by primary key range (partitions pruned by time)."""
        tid = await self._id(tag)
        if tid is None:
            return []
        lo = start_us if after_us is None else max(start_us, after_us + 1)
        rows = await self._rows(self._q(sql.SAMPLES), (tid, lo, end_us, limit))
        return [self._sample(tag, row) for row in rows]

    async def around(self, tag: str, time_us: int) -> tuple[Sample | None, Sample | None]:
        """Two primary-key seeks."""
        tid = await self._id(tag)
        if tid is None:
            return None, None
        before = await self._rows(self._q(sql.AT_OR_BEFORE), (tid, time_us))
        after = await self._rows(self._q(sql.AFTER), (tid, time_us))
        return (
            self._sample(tag, before[0]) if before else None,
            self._sample(tag, after[0]) if after else None,
        )

    async def aggregate(self, tag: str, start_us: int, end_us: int, width_us: int) -> list[Bucket]:
        """One GROUP BY over the primary-key range."""
        tid = await self._id(tag)
        if tid is None:
            return []
        params = {"tag": tid, "o": start_us, "s": start_us, "e": end_us, "w": width_us}
        return [Bucket._make(row) for row in await self._rows(self._q(sql.AGGREGATE), params)]

    async def rollups(self, tag: str, width_us: int, start_us: int, end_us: int) -> list[Bucket]:
        """Stored rollups with the tag's open minute (and the bucket holding it) computed
        from the samples, in one repeatable-read snapshot."""
        tid = await self._id(tag)
        if tid is None:
            return []
        async with self._reader() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur = await conn.execute(self._q(sql.ROLLUPS), (tid, width_us, start_us, end_us))
            stored = [Bucket._make(row) for row in await cur.fetchall()]
            cur = await conn.execute(self._q(sql.LATEST_ONE), (tid,))
            (latest,) = await cur.fetchone() or (None,)
            if latest is None:
                return stored
            minute = latest - latest % MINUTE_US
            bucket = minute - minute % width_us
            if not start_us <= bucket < end_us:
                return stored
            params = {"tag": tid, "o": minute, "s": minute, "e": minute + MINUTE_US}
            params["w"] = MINUTE_US
            cur = await conn.execute(self._q(sql.AGGREGATE), params)
            fresh = [Bucket._make(row) for row in await cur.fetchall()]
            if width_us != MINUTE_US:
                cur = await conn.execute(self._q(sql.ROLLUPS), (tid, MINUTE_US, bucket, minute))
                minutes = [Bucket._make(row) for row in await cur.fetchall()]
                fresh = combine(minutes + fresh, MINUTE_US, bucket, width_us)
        return [b for b in stored if b.start_us != bucket] + fresh

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
        where = ["t >= %s", "t < %s", "(t, id) > (%s, %s)"]
        params: list[Any] = [start_us, end_us, *after]
        if kinds:
            where.append("kind = ANY(%s)")
            params.append(list(kinds))
        if scope:
            where.append("(scope = %s OR left(scope, %s) = %s)")
            params.extend([scope, len(scope) + 1, f"{scope}/"])
        query = self._q(
            "SELECT id, kind, scope, t, key, data FROM {s}.events WHERE "
            + " AND ".join(where)
            + " ORDER BY t, id LIMIT %s"
        )
        rows = await self._rows(query, (*params, limit))
        return [(row[0], Event(row[1], row[2], row[3], row[4], bytes(row[5]))) for row in rows]
