"""The embedded store's writes, all on its one writing connection: a batch of samples
with their holds, the rollups it closes, events and stream positions in one transaction;
retention by primary-key ranges."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

from plantbus.sdk.historian import HOUR_US, MINUTE_US, Sample, WriteBatch
from plantbus_sqlite import sql

__all__ = ["Writer"]


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (the write lock at once), COMMIT, or ROLLBACK on any failure."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class Writer:
    """The writing connection, the tag ids and each tag's latest committed sample time."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.ids: dict[str, int] = dict(conn.execute("SELECT path, id FROM tags"))
        self._last: dict[int, int] = {}

    def write(self, batch: WriteBatch) -> None:
        """Samples, holds, rollups, events and positions in one transaction; the caches
        change only when it commits."""
        conn = self.conn
        ids = dict(self.ids)
        last: dict[int, int] = {}
        with _transaction(conn):
            self._put_rollups(self._put_samples(batch.samples, ids, last))
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
        self.ids = ids
        self._last.update(last)

    def expire(
        self,
        samples_before_us: int,
        rollups_before_us: Mapping[int, int],
        events_before_us: Mapping[str, int],
    ) -> int:
        """Delete by tag and time range (the primary keys), events by time; how many rows."""
        conn = self.conn
        deleted = 0
        with _transaction(conn):
            for tag in self.ids.values():
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
        return deleted

    def _tag_id(self, path: str, ids: dict[str, int]) -> int:
        found = ids.get(path)
        if found is None:
            row = self.conn.execute("INSERT INTO tags (path) VALUES (?) RETURNING id", (path,))
            found = ids[path] = int(row.fetchone()[0])
        return found

    def _latest(self, tag: int) -> int | None:
        if tag in self._last:
            return self._last[tag]
        row = self.conn.execute("SELECT max(t) FROM samples WHERE tag = ?", (tag,)).fetchone()
        return None if row[0] is None else int(row[0])

    def _put_samples(
        self, samples: Sequence[Sample], ids: dict[str, int], last: dict[int, int]
    ) -> list[tuple[int, int]]:
        """Insert ``samples`` with their holds; return the (tag id, minute) pairs that are
        closed and need their rollup (re)computed: touched minutes before the tag's latest
        minute, and the minute that was the latest before this batch."""
        conn = self.conn
        by_tag: dict[int, list[Sample]] = {}
        for s in samples:
            by_tag.setdefault(self._tag_id(s.tag, ids), []).append(s)
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
            latest = self._latest(tag)
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
            conn.execute(
                sql.FIX_HOLDS, {"tag": tag, "lo": lo if before is None else before, "hi": hi}
            )
        return closed

    def _put_rollups(self, minutes: list[tuple[int, int]]) -> None:
        """Recompute the closed minutes from their samples and their hours from the
        minutes, each kind in one statement. A tag's latest minute stays open: it is
        computed when read, and stored once a later sample closes it."""
        if not minutes:
            return
        conn = self.conn
        conn.execute("DELETE FROM temp.todo")
        conn.executemany("INSERT OR IGNORE INTO temp.todo VALUES (?, ?)", minutes)
        conn.execute(sql.MINUTES, {"w": MINUTE_US})
        conn.execute("DELETE FROM temp.todo")
        hours = {(tag, m - m % HOUR_US) for tag, m in minutes}
        conn.executemany("INSERT INTO temp.todo VALUES (?, ?)", hours)
        conn.execute(sql.HOURS, {"w": MINUTE_US, "h": HOUR_US})
