"""The PostgreSQL store's reads, each on one of its read connections: raw samples and
aggregates by primary-key range (samples partitions pruned by time), rollups with the
tag's open minute in one repeatable-read snapshot, events by their (time, id) index."""

from __future__ import annotations

from plantbus.sdk.historian import (
    MINUTE_US,
    Bucket,
    Event,
    EventQuery,
    Sample,
    open_minute,
    stored_sample,
    with_open_minute,
)
from plantbus_postgres import sql
from plantbus_postgres.connections import Connections
from plantbus_postgres.schema import Layout

__all__ = ["Reads"]


class Reads:
    """The read methods of :class:`plantbus_postgres.store.PostgresStore`."""

    layout: Layout
    _db: Connections

    def _q(self, template: str, **extra: object) -> str:
        return self.layout.q(template, **extra)

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
