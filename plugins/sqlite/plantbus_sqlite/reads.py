"""The embedded store's reads that are more than one statement: rollups with the tag's
open minute, and the events query."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from plantbus.sdk.historian import MINUTE_US, Bucket, combine
from plantbus_sqlite import sql

__all__ = ["events_query", "rollups"]


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
        if latest is None:
            return stored
        minute = latest - latest % MINUTE_US
        bucket = minute - minute % width
        if not start <= bucket < end:
            return stored
        params = {"tag": tag, "o": minute, "s": minute, "e": minute + MINUTE_US, "w": MINUTE_US}
        fresh = [Bucket._make(row) for row in conn.execute(sql.AGGREGATE, params)]
        if width != MINUTE_US:
            minutes = _stored(conn, tag, MINUTE_US, bucket, minute)
            fresh = combine(minutes + fresh, MINUTE_US, bucket, width)
        return [b for b in stored if b.start_us != bucket] + fresh
    finally:
        conn.execute("COMMIT")


def events_query(
    kinds: Sequence[str], scope: str, start_us: int, end_us: int, after: tuple[int, int]
) -> tuple[str, list[Any]]:
    """The statement and parameters (but the limit) for events by the (time, id) index:
    of ``kinds`` (all when empty), under ``scope``, after the (time, id) ``after``."""
    where = ["t >= ?", "t < ?", "(t, id) > (?, ?)"]
    params: list[Any] = [start_us, end_us, *after]
    if kinds:
        where.append(f"kind IN ({', '.join('?' * len(kinds))})")
        params.extend(kinds)
    if scope:
        where.append("(scope = ? OR substr(scope, 1, ?) = ?)")
        params.extend([scope, len(scope) + 1, f"{scope}/"])
    query = (
        f"SELECT id, kind, scope, t, key, data FROM events WHERE {' AND '.join(where)} "
        "ORDER BY t, id LIMIT ?"
    )
    return query, params
