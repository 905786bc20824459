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
    Cutoffs,
    HistorianStore,
    WriteBatch,
)
from plantbus.sdk.plugin import PluginManifest
from plantbus_postgres.connections import Connections
from plantbus_postgres.reads import Reads
from plantbus_postgres.schema import Layout, setup
from plantbus_postgres.settings import PostgresSettings, failure
from plantbus_postgres.writes import Writer

__all__ = ["PostgresSettings", "PostgresStore"]


class PostgresStore(Reads, HistorianStore[PostgresSettings]):
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
