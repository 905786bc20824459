"""The SQL of the embedded store (layout in store.py's docstring and docs/historian.md):
the schema, and the statements that aggregate samples and maintain the rollups."""

from __future__ import annotations

__all__ = [
    "AGGREGATE",
    "COLUMNS",
    "FIX_HOLDS",
    "HELD",
    "HOURS",
    "MINUTES",
    "SCHEMA",
    "SPLIT_US",
    "TODO",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS samples (
    tag INTEGER NOT NULL, t INTEGER NOT NULL, v REAL, s TEXT, q INTEGER NOT NULL,
    r INTEGER NOT NULL, h INTEGER, PRIMARY KEY (tag, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollups (
    tag INTEGER NOT NULL, w INTEGER NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL,
    good INTEGER NOT NULL, valued INTEGER NOT NULL, mn REAL, mx REAL, sm REAL NOT NULL,
    area REAL NOT NULL, cov INTEGER NOT NULL, f REAL, ft INTEGER NOT NULL, l REAL,
    lt INTEGER NOT NULL, PRIMARY KEY (tag, w, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, scope TEXT NOT NULL, t INTEGER NOT NULL,
    key TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (t, id);
CREATE TABLE IF NOT EXISTS positions (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""

HELD = "min(ifnull(h, :w), :w - (t - :o) % :w)"
"""How long a sample's value holds in its bucket: until the next sample (``h``), at most to
the bucket's end; the latest sample (``h`` NULL) holds to the end."""
# Samples in [:s, :e), one bucket per k = (t - :o) / :w, first and last values joined back
# by primary key.
AGGREGATE = f"""
SELECT :o + g.k * :w, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.v, g.t0, l.v,
       g.t1
FROM (
    SELECT (t - :o) / :w AS k, count(*) AS n, sum(q = 1) AS good, count(v) AS valued,
           min(v) AS mn, max(v) AS mx, total(v) AS sm, total(v * {HELD}) AS area,
           CAST(total(CASE WHEN v IS NOT NULL THEN {HELD} END) AS INTEGER) AS cov,
           min(t) AS t0, max(t) AS t1
    FROM samples WHERE tag = :tag AND t >= :s AND t < :e
    GROUP BY k) AS g
JOIN samples AS f ON f.tag = :tag AND f.t = g.t0
JOIN samples AS l ON l.tag = :tag AND l.t = g.t1
ORDER BY g.k
"""
COLUMNS = "t, n, good, valued, mn, mx, sm, area, cov, f, ft, l, lt"
# The minutes listed in todo, recomputed from their samples (d.t is the minute's start).
MINUTES = f"""
INSERT OR REPLACE INTO rollups (tag, w, {COLUMNS})
SELECT g.tag, :w, g.m, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.v, g.t0, l.v,
       g.t1
FROM (
    SELECT d.tag AS tag, d.t AS m, count(*) AS n, sum(s.q = 1) AS good, count(s.v) AS valued,
           min(s.v) AS mn, max(s.v) AS mx, total(s.v) AS sm,
           total(s.v * min(ifnull(s.h, :w), d.t + :w - s.t)) AS area,
           CAST(total(CASE WHEN s.v IS NOT NULL THEN min(ifnull(s.h, :w), d.t + :w - s.t) END)
                AS INTEGER) AS cov,
           min(s.t) AS t0, max(s.t) AS t1
    FROM temp.todo AS d JOIN samples AS s ON s.tag = d.tag AND s.t >= d.t AND s.t < d.t + :w
    GROUP BY d.tag, d.t) AS g
JOIN samples AS f ON f.tag = g.tag AND f.t = g.t0
JOIN samples AS l ON l.tag = g.tag AND l.t = g.t1
"""
# The hours listed in todo, from their stored minutes: a minute's last value holds on to
# the next minute's first sample (nft) or the hour's end (see sdk.historian.combine).
HOURS = f"""
INSERT OR REPLACE INTO rollups (tag, w, {COLUMNS})
SELECT g.tag, :h, g.hour, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.f, g.ft,
       l.l, g.lt
FROM (
    SELECT tag, hour, sum(n) AS n, sum(good) AS good, sum(valued) AS valued, min(mn) AS mn,
           max(mx) AS mx, total(sm) AS sm,
           total(area) + total(l * (ifnull(nft, hour + :h) - t - :w)) AS area,
           CAST(total(cov) + total(CASE WHEN l IS NOT NULL THEN ifnull(nft, hour + :h) - t - :w
                END) AS INTEGER) AS cov,
           min(t) AS t0, max(t) AS t1, min(ft) AS ft, max(lt) AS lt
    FROM (
        SELECT r.*, d.t AS hour, lead(r.ft) OVER (PARTITION BY r.tag, d.t ORDER BY r.t) AS nft
        FROM temp.todo AS d
        JOIN rollups AS r ON r.tag = d.tag AND r.w = :w AND r.t >= d.t AND r.t < d.t + :h)
    GROUP BY tag, hour) AS g
JOIN rollups AS f ON f.tag = g.tag AND f.w = :w AND f.t = g.t0
JOIN rollups AS l ON l.tag = g.tag AND l.w = :w AND l.t = g.t1
"""
FIX_HOLDS = """
UPDATE samples SET h = (SELECT min(n.t) FROM samples AS n WHERE n.tag = :tag AND n.t > samples.t)
    - t
WHERE tag = :tag AND t >= :lo AND t <= :hi
"""
SPLIT_US = 6 * 3_600_000_000
"""Aggregates over longer ranges than this run as two parallel scans."""
TODO = "CREATE TEMP TABLE IF NOT EXISTS todo (tag INTEGER, t INTEGER, PRIMARY KEY (tag, t))"
