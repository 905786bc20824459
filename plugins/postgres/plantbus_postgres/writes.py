"""The PostgreSQL store's writes, on its one writing connection: a batch that only
appends to its tags is copied straight into ``samples``; one with late or repeated samples
goes through a temporary table and ``INSERT ... ON CONFLICT``. Each sample's hold (how
long its value held) is set when the tag's next sample comes; closed minutes and their
hours are recomputed in the same transaction. Retention drops whole partitions."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import psycopg

from plantbus.sdk.historian import HOUR_US, MINUTE_US, Cutoffs, Sample, WriteBatch
from plantbus_postgres import sql
from plantbus_postgres.docs import event_doc
from plantbus_postgres.schema import DAY_US, Layout

__all__ = ["Writer"]

_TAG_TIME = itemgetter(0, 1)
_INSERT_EVENTS = (
    "INSERT INTO {s}.events (kind, scope, t, key, data, doc) VALUES (%s, %s, %s, %s, %s, %s)"
)
_UPSERT_POSITIONS = (
    "INSERT INTO {s}.positions VALUES (%s, %s) "
    "ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq"
)


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


class Writer:
    """The write side of one store: the layout (tag ids, partitions) and each tag's
    latest committed sample time."""

    def __init__(self, layout: Layout, partition_days: int) -> None:
        self.layout = layout
        self.partition_us = partition_days * DAY_US
        self._last: dict[int, int] = {}
        """Tag id -> its latest sample time, as committed."""

    async def ensure_partitions(
        self, conn: psycopg.AsyncConnection[Any], samples: Sequence[Sample]
    ) -> None:
        """Create the partitions the samples fall in (committed on their own: an empty
        partition left by a failed write is harmless)."""
        if self.layout.timescale or not samples:
            return
        width = self.partition_us
        starts = {s.time_us - s.time_us % width for s in samples} - self.layout.partitions
        for lo in sorted(starts):
            await conn.execute(
                self.layout.q(sql.PARTITION, name=f"samples_{lo}", lo=lo, hi=lo + width)
            )
            self.layout.partitions.add(lo)

    async def write(self, conn: psycopg.AsyncConnection[Any], batch: WriteBatch) -> None:
        """Samples, holds, rollups, events and positions in one transaction (after the
        partitions they need)."""
        await self.ensure_partitions(conn, batch.samples)
        ids = dict(self.layout.ids)
        last: dict[int, int] = {}
        async with conn.transaction():
            closed = await self._put_samples(conn, batch.samples, ids, last)
            await self._put_rollups(conn, closed)
            inserts: list[tuple[str, list[tuple[Any, ...]]]] = [
                (_INSERT_EVENTS, [(*e, event_doc(e.kind, e.data)) for e in batch.events]),
                (_UPSERT_POSITIONS, list(batch.positions.items())),
            ]
            for statement, rows in inserts:
                if rows:
                    async with conn.cursor() as cur:
                        await cur.executemany(self.layout.q(statement), rows)
        self.layout.ids = ids
        self._last.update(last)

    async def _tag_ids(
        self, conn: psycopg.AsyncConnection[Any], paths: set[str], ids: dict[str, int]
    ) -> None:
        new = sorted(paths - ids.keys())
        if new:
            cur = await conn.execute(
                self.layout.q(
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
            cur = await conn.execute(self.layout.q(sql.LATEST), (unknown,))
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
            await conn.execute(self.layout.q(sql.INCOMING))
        await self._copy(conn, "incoming" if late else self.layout.q("{s}.samples"), rows)
        if late:
            await conn.execute(self.layout.q(sql.UPSERT))
        if appended:
            tags, times, holds = ([*col] for col in zip(*appended, strict=True))
            params: dict[str, Any] = {"tags": tags, "times": times, "holds": holds}
            params["lo"], params["hi"] = min(times), max(times)  # prunes partitions
            await conn.execute(self.layout.q(sql.SET_HOLDS), params)
        for tag, lo, hi in late:
            cur = await conn.execute(self.layout.q(sql.BEFORE), (tag, lo))
            (prev,) = await cur.fetchone() or (None,)
            params = {"tag": tag, "lo": lo if prev is None else prev, "hi": hi}
            await conn.execute(self.layout.q(sql.FIX_HOLDS), params)
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
        await conn.execute(self.layout.q(sql.MINUTES), params)
        hours = sorted({(tag, m - m % HOUR_US) for tag, m in unique})
        params["tags"], params["starts"] = (list(c) for c in zip(*hours, strict=True))
        await conn.execute(self.layout.q(sql.HOURS), params)

    async def expire(self, conn: psycopg.AsyncConnection[Any], cut: Cutoffs) -> int:
        """Drop whole samples partitions below the cut-off, delete the rest by range."""
        deletes: list[tuple[str, tuple[Any, ...]]] = [
            ("DELETE FROM {s}.samples WHERE t < %s", (cut.samples_us,))
        ]
        deletes += [
            ("DELETE FROM {s}.rollups WHERE w = %s AND t < %s", item)
            for item in cut.rollups_us.items()
        ]
        deletes += [
            ("DELETE FROM {s}.events WHERE kind = %s AND t < %s", item)
            for item in cut.events_us.items()
        ]
        async with conn.transaction():
            deleted = await self._drop_partitions(conn, cut.samples_us)
            for statement, params in deletes:
                cur = await conn.execute(self.layout.q(statement), params)
                deleted += cur.rowcount
        self._last.clear()  # a tag may have lost every sample
        return deleted

    async def _drop_partitions(self, conn: psycopg.AsyncConnection[Any], before_us: int) -> int:
        if self.layout.timescale:
            return 0
        width = self.partition_us
        gone = sorted(lo for lo in self.layout.partitions if lo + width <= before_us)
        deleted = 0
        for lo in gone:
            name = f"samples_{lo}"
            cur = await conn.execute(self.layout.q("SELECT count(*) FROM {s}.{name}", name=name))
            deleted += (await cur.fetchone() or (0,))[0]
            await conn.execute(self.layout.q("DROP TABLE {s}.{name}", name=name))
        self.layout.partitions.difference_update(gone)
        return deleted
