"""Making the PostgreSQL store's schema at open: its tables, the samples layout (native
partitions, or a TimescaleDB hypertable when the server has the extension), the IT
views and the grants on them. A store keeps the layout it was made with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from psycopg import sql as pgsql

from plantbus.sdk.historian import StoreUnavailable
from plantbus_postgres import sql
from plantbus_postgres.settings import PostgresSettings
from plantbus_postgres.views import VIEW_NAMES, VIEWS

__all__ = ["DAY_US", "Layout", "setup"]

DAY_US: Final = 86_400_000_000


@dataclass
class Layout:
    """What open found or made."""

    schema: str
    timescale: bool = False
    """Whether samples is a TimescaleDB hypertable."""
    ids: dict[str, int] = field(default_factory=dict)
    """Tag path -> id."""
    partitions: set[int] = field(default_factory=set)
    """Starts (us) of the samples partitions that exist."""

    def q(self, template: str, **extra: object) -> str:
        """``template`` with ``{s}`` the schema."""
        return template.format(s=self.schema, **extra)


async def setup(conn: psycopg.AsyncConnection[Any], settings: PostgresSettings) -> Layout:
    """Create what is missing (one opener at a time: an advisory lock) and read the tag
    ids and partitions."""
    layout = Layout(settings.db_schema)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('plantbus historian'))")
        await conn.execute(
            pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(layout.schema))
        )
        made = await _existing_layout(conn, settings)
        layout.timescale = made == "r" if made else await _timescale(conn, settings)
        await conn.execute(layout.q(sql.TABLES))
        if made is None and layout.timescale:
            await conn.execute(layout.q(sql.PLAIN))
            await conn.execute(
                layout.q(
                    sql.HYPERTABLE,
                    chunk=settings.partition_days * DAY_US,
                    after=settings.compress_after_days * DAY_US,
                )
            )
        elif made is None:
            await conn.execute(layout.q(sql.PARTITIONED))
        await conn.execute(layout.q(VIEWS))
        await _grant(conn, settings)
    cur = await conn.execute(layout.q("SELECT path, id FROM {s}.tags"))
    layout.ids = dict(await cur.fetchall())
    if not layout.timescale:
        cur = await conn.execute(layout.q(sql.PARTITIONS))
        layout.partitions = {int(name.rsplit("_", 1)[1]) for (name,) in await cur.fetchall()}
    return layout


async def _grant(conn: psycopg.AsyncConnection[Any], settings: PostgresSettings) -> None:
    """USAGE on the schema and SELECT on its views, for each configured role."""
    for role in settings.grant_views_to:
        ident = {"schema": pgsql.Identifier(settings.db_schema), "role": pgsql.Identifier(role)}
        usage = pgsql.SQL("GRANT USAGE ON SCHEMA {schema} TO {role}")
        await conn.execute(usage.format(**ident))
        for view in VIEW_NAMES:
            await conn.execute(
                pgsql.SQL("GRANT SELECT ON {schema}.{view} TO {role}").format(
                    view=pgsql.Identifier(view), **ident
                )
            )


async def _existing_layout(
    conn: psycopg.AsyncConnection[Any], settings: PostgresSettings
) -> str | None:
    """How an existing samples table was made: ``p`` (native partitions), ``r`` (a
    TimescaleDB hypertable, the only plain samples table the store makes); None when
    there is none."""
    schema = settings.db_schema
    cur = await conn.execute(
        "SELECT c.relkind FROM pg_class AS c JOIN pg_namespace AS n "
        "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 'samples'",
        (schema,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    layout = str(row[0])
    if layout == "p" and settings.timescaledb == "required":
        raise StoreUnavailable(
            f"PostgreSQL historian store: timescaledb: required, but {schema}.samples "
            "was made with native partitions; keep timescaledb: auto, or move the data "
            "into a new schema (setting schema) made with TimescaleDB"
        )
    return layout


async def _timescale(conn: psycopg.AsyncConnection[Any], settings: PostgresSettings) -> bool:
    """Whether to use TimescaleDB: the setting and what the server offers."""
    mode = settings.timescaledb
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
