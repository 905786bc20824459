"""The embedded store's writes, all on its one writing connection: a batch of samples
with their holds, the rollups it closes, events and stream positions in one transaction;
retention by primary-key ranges."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from plantbus.sdk.historian import HOUR_US, MINUTE_US, Sample, WriteBatch
from plantbus_sqlite import sql

__all__ = ["Writer"]

_Row = tuple[int, int, float | None, str | None, int, int]
"""Tag id, time, value, text, quality, receive offset."""
_BY_TAG_TIME = itemgetter(0, 1)
_END: _Row = (0, 0, None, None, 0, 0)
"""After the last row: no tag has id 0."""
# Binding None costs sqlite3 an adapter lookup per parameter, a literal NULL nothing: a
# sample with a number and one held until the next have inserts of their own.
_NUMBER = "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, NULL, ?, ?, ?)"
_NUMBER_LATEST = "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, NULL, ?, ?, NULL)"
_ANY = "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?)"


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
        minute, and the minute that was the latest before this batch.

        One sort by tag and time and one pass over the rows (most tags have one sample
        in a live batch, so nothing is done per tag that is not needed per row); of
        samples with the same tag and time the batch's last is kept."""
        conn = self.conn
        tag_id = ids.get
        rows: list[_Row] = sorted(
            (
                (
                    tag_id(s.tag) or self._tag_id(s.tag, ids),
                    s.time_us,
                    s.value,
                    s.text,
                    s.quality,
                    s.receive_us - s.time_us,
                )
                for s in samples
            ),
            key=_BY_TAG_TIME,
        )
        held: list[tuple[Any, ...]] = []
        ends: list[tuple[Any, ...]] = []
        texts: list[tuple[Any, ...]] = []
        appended: list[tuple[int, int, int]] = []
        late: list[tuple[int, int, int]] = []
        closed: list[tuple[int, int]] = []
        first: int | None = None
        for row, after in itertools.pairwise([*rows, _END]):
            tag, t, value, text, quality, receive = row
            if first is None:
                first = t
            minute = t - t % MINUTE_US
            if not closed or closed[-1] != (tag, minute):
                closed.append((tag, minute))
            if after[0] == tag:
                if after[1] != t:  # else a later sample of this batch replaces it
                    hold = after[1] - t
                    if text is None:
                        held.append((tag, t, value, quality, receive, hold))
                    else:
                        texts.append((*row, hold))
                continue
            if text is None:
                ends.append((tag, t, value, quality, receive))
            else:
                texts.append((*row, None))
            latest = self._latest(tag)
            if latest is None or first > latest:
                if latest is not None:
                    appended.append((first - latest, tag, latest))
            else:
                late.append((tag, first, t))
            newest = t if latest is None else max(latest, t)
            last[tag] = newest
            still_open = newest - newest % MINUTE_US
            if minute == still_open:
                closed.pop()
            if latest is not None and latest - latest % MINUTE_US < still_open:
                closed.append((tag, latest - latest % MINUTE_US))
            first = None
        conn.executemany(_NUMBER, held)
        conn.executemany(_NUMBER_LATEST, ends)
        conn.executemany(_ANY, texts)
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
