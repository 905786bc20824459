"""The embedded store's reads that are more than one statement: rollups with the tag's
open minute."""

from __future__ import annotations

import sqlite3

from plantbus.sdk.historian import MINUTE_US, Bucket, open_minute, with_open_minute
from plantbus_sqlite import sql

__all__ = ["rollups"]


def _stored(conn: sqlite3.Connection, tag: int, width: int, start: int, end: int) -> list[Bucket]:
    rows = conn.execute(
        f"SELECT {sql.COLUMNS} FROM rollups WHERE tag = ? AND w = ? AND t >= ? AND t < ?"
        " ORDER BY t",
        (tag, width, start, end),
    )
    return [Bucket._make(row) for row in rows]


def rollups(conn: sqlite3.Connection, tag: int, width: int, start: int, end: int) -> list[Bucket]:
    """Stored rollups by primary key range, with the tag's open minute (and the bucket
    that holds it) computed from the samples, in one read transaction."""
    conn.execute("BEGIN")
    try:
        stored = _stored(conn, tag, width, start, end)
        latest = conn.execute("SELECT max(t) FROM samples WHERE tag = ?", (tag,)).fetchone()[0]
        found = open_minute(latest, width, start, end)
        if found is None:
            return stored
        minute, bucket = found
        params = {"tag": tag, "o": minute, "s": minute, "e": minute + MINUTE_US, "w": MINUTE_US}
        fresh = [Bucket._make(row) for row in conn.execute(sql.AGGREGATE, params)]
        closed = _stored(conn, tag, MINUTE_US, bucket, minute) if width != MINUTE_US else []
        return with_open_minute(stored, bucket, width, fresh, closed)
    finally:
        conn.execute("COMMIT")
