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
from typing import Any, ClassVar

import psycopg
from pydantic import BaseModel

from plantbus.sdk import API_VERSION
from plantbus.sdk.historian import (
    MINUTE_US,
    Bucket,
    Cutoffs,
    Event,
    EventQuery,
    HistorianStore,
    Sample,
    WriteBatch,
    open_minute,
    stored_sample,
    with_open_minute,
)
from plantbus.sdk.plugin import PluginManifest
from plantbus_postgres import sql
from plantbus_postgres.connections import Connections
from plantbus_postgres.schema import Layout, setup
from plantbus_postgres.settings import PostgresSettings, failure
from plantbus_postgres.writes import Writer

__all__ = ["PostgresSettings", "PostgresStore"]


class PostgresStore(HistorianStore[PostgresSettings]):
    """The store for scale, and the IT door (views for SQL tools and Grafana)."""

    manifest: ClassVar[PluginManifest] = PluginManifest(
        "postgres", "0.1.0", API_VERSION, "PostgreSQL (partitioned, TimescaleDB) historian store"
    )
    Settings: ClassVar[type[BaseModel]] = PostgresSettings

    def __init__(self, settings: PostgresSettings, context: Any) -> None:
        super().__init__(settings, context)
        self.layout = Layout(settings.db_schema)
        self._db = Connections(settings)
        self._writes = Writer(self.layout, settings.partition_days)
        self._write_lock = asyncio.Lock()

    @property
    def schema(self) -> str:
        """The schema of the tables and views."""
        return self.layout.schema

    @property
    def timescale(self) -> bool:
        """Whether samples is a TimescaleDB hypertable (known after open)."""
        return self.layout.timescale

    def _q(self, template: str, **extra: object) -> str:
        return self.layout.q(template, **extra)

    # -- lifecycle --------------------------------------------------------------

    async def open(self) -> None:
        """Connect, detect TimescaleDB, create the schema, tables and views."""
        self._db.open()
        try:
            self.layout = await setup(await self._db.writer(), self.settings)
        except psycopg.Error as err:
            raise failure(err) from err
        self._writes = Writer(self.layout, self.settings.partition_days)
        self.context.log.info(
            "PostgreSQL historian store: schema %s, samples %s",
            self.schema,
            "in a TimescaleDB hypertable" if self.timescale else "in native partitions",
        )

    async def close(self) -> None:
        """Close every connection; safe twice."""
        await self._db.close()

    async def size_bytes(self) -> int:
        """The tables and indexes of the schema."""
        rows = await self._db.rows(
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
        rows = await self._db.rows(query, (stream,))
        return int(rows[0][0]) if rows else 0

    async def write(self, batch: WriteBatch) -> None:
        """Samples, holds, rollups, events and positions in one transaction."""
        async with self._write_lock:
            try:
                await self._writes.write(await self._db.writer(), batch)
            except psycopg.Error as err:
                raise failure(err) from err

    async def delete_older(self, cut: Cutoffs) -> int:
        """Drop whole samples partitions below the cut-off, delete the rest by range."""
        async with self._write_lock:
            try:
                return await self._writes.expire(await self._db.writer(), cut)
            except psycopg.Error as err:
                raise failure(err) from err

    # -- reads ------------------------------------------------------------------

    async def tags(self) -> list[str]:
        """Every tag path, sorted."""
        rows = await self._db.rows(self._q("SELECT path FROM {s}.tags ORDER BY path"), ())
        return [row[0] for row in rows]

    async def _id(self, tag: str) -> int | None:
        found = self.layout.ids.get(tag)
        if found is None:
            rows = await self._db.rows(self._q("SELECT id FROM {s}.tags WHERE path = %s"), (tag,))
            found = rows[0][0] if rows else None
        return found

    async def samples(
        self, tag: str, start_us: int, end_us: int, limit: int, after_us: int | None = None
    ) -> list[Sample]:
        """Raw samples by primary key range (partitions pruned by time)."""
        tid = await self._id(tag)
        if tid is None:
            return []
        lo = start_us if after_us is None else max(start_us, after_us + 1)
        rows = await self._db.rows(self._q(sql.SAMPLES), (tid, lo, end_us, limit))
        return [stored_sample(tag, row) for row in rows]

    async def around(self, tag: str, time_us: int) -> tuple[Sample | None, Sample | None]:
        """Two primary-key seeks."""
        tid = await self._id(tag)
        if tid is None:
            return None, None
        before = await self._db.rows(self._q(sql.AT_OR_BEFORE), (tid, time_us))
        after = await self._db.rows(self._q(sql.AFTER), (tid, time_us))
        return (
            stored_sample(tag, before[0]) if before else None,
            stored_sample(tag, after[0]) if after else None,
        )

    async def aggregate(self, tag: str, start_us: int, end_us: int, width_us: int) -> list[Bucket]:
        """One GROUP BY over the primary-key range."""
        tid = await self._id(tag)
        if tid is None:
            return []
        params = {"tag": tid, "o": start_us, "s": start_us, "e": end_us, "w": width_us}
        return [Bucket._make(row) for row in await self._db.rows(self._q(sql.AGGREGATE), params)]

    async def rollups(self, tag: str, width_us: int, start_us: int, end_us: int) -> list[Bucket]:
        """Stored rollups with the tag's open minute (and the bucket holding it) computed
        from the samples, in one repeatable-read snapshot."""
        tid = await self._id(tag)
        if tid is None:
            return []
        async with self._db.reader() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur = await conn.execute(self._q(sql.ROLLUPS), (tid, width_us, start_us, end_us))
            stored = [Bucket._make(row) for row in await cur.fetchall()]
            cur = await conn.execute(self._q(sql.LATEST_ONE), (tid,))
            (latest,) = await cur.fetchone() or (None,)
            found = open_minute(latest, width_us, start_us, end_us)
            if found is None:
                return stored
            minute, bucket = found
            params = {"tag": tid, "o": minute, "s": minute, "e": minute + MINUTE_US}
            params["w"] = MINUTE_US
            cur = await conn.execute(self._q(sql.AGGREGATE), params)
            fresh = [Bucket._make(row) for row in await cur.fetchall()]
            closed: list[Bucket] = []
            if width_us != MINUTE_US:
                cur = await conn.execute(self._q(sql.ROLLUPS), (tid, MINUTE_US, bucket, minute))
                closed = [Bucket._make(row) for row in await cur.fetchall()]
        return with_open_minute(stored, bucket, width_us, fresh, closed)

    async def find_events(self, query: EventQuery, limit: int) -> list[tuple[int, Event]]:
        """Events by the (time, id) index."""
        where, params = query.where("%s")
        statement = self._q(
            f"SELECT id, kind, scope, t, key, data FROM {{s}}.events WHERE {where} "
            "ORDER BY t, id LIMIT %s"
        )
        rows = await self._db.rows(statement, (*params, limit))
        return [(row[0], Event(row[1], row[2], row[3], row[4], bytes(row[5]))) for row in rows]
