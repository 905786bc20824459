"""The PostgreSQL store's statements. ``{s}`` is the schema; times are int64 microseconds.

The aggregates mirror :mod:`plantbus.sdk.historian` (and plugins/sqlite): ``h`` is how long
a sample's value held (until the tag's next sample, NULL for the latest), so time-weighted
sums are a plain GROUP BY; first and last values are joined back by primary key.
"""

from __future__ import annotations

from typing import Final

TABLES: Final = """
CREATE TABLE IF NOT EXISTS {s}.tags (id serial PRIMARY KEY, path text NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS {s}.rollups (
    tag integer NOT NULL, w bigint NOT NULL, t bigint NOT NULL, n bigint NOT NULL,
    good bigint NOT NULL, valued bigint NOT NULL, mn double precision, mx double precision,
    sm double precision NOT NULL, area double precision NOT NULL, cov bigint NOT NULL,
    f double precision, ft bigint NOT NULL, l double precision, lt bigint NOT NULL,
    PRIMARY KEY (tag, w, t));
CREATE TABLE IF NOT EXISTS {s}.events (
    id bigserial PRIMARY KEY, kind text NOT NULL, scope text NOT NULL, t bigint NOT NULL,
    key text NOT NULL, data bytea NOT NULL, doc jsonb);
CREATE INDEX IF NOT EXISTS events_by_time ON {s}.events (t, id);
CREATE INDEX IF NOT EXISTS events_by_kind ON {s}.events (kind, t);
CREATE TABLE IF NOT EXISTS {s}.positions (stream text PRIMARY KEY, seq bigint NOT NULL);
CREATE OR REPLACE FUNCTION {s}.now_us() RETURNS bigint LANGUAGE sql STABLE
    AS 'SELECT (extract(epoch FROM now()) * 1000000)::bigint';
CREATE OR REPLACE FUNCTION {s}.ts(us bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS 'SELECT to_timestamp(us / 1000000.0)';
"""
SAMPLES_COLUMNS: Final = """
    tag integer NOT NULL, t bigint NOT NULL, v double precision, s text, q smallint NOT NULL,
    r bigint NOT NULL, h bigint, PRIMARY KEY (tag, t)"""
PLAIN: Final = f"CREATE TABLE IF NOT EXISTS {{s}}.samples ({SAMPLES_COLUMNS})"
PARTITIONED: Final = f"{PLAIN} PARTITION BY RANGE (t)"
PARTITION: Final = (
    "CREATE TABLE IF NOT EXISTS {s}.{name} PARTITION OF {s}.samples"
    " FOR VALUES FROM ({lo}) TO ({hi})"
)
PARTITIONS: Final = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = '{s}.samples'::regclass
"""
HYPERTABLE: Final = """
SELECT create_hypertable('{s}.samples', 't', chunk_time_interval => {chunk}, if_not_exists => true);
SELECT set_integer_now_func('{s}.samples', '{s}.now_us', replace_if_exists => true);
ALTER TABLE {s}.samples SET (timescaledb.compress, timescaledb.compress_segmentby = 'tag',
    timescaledb.compress_orderby = 't');
SELECT add_compression_policy('{s}.samples', compress_after => {after}, if_not_exists => true);
"""

COPY_SAMPLES: Final = "COPY {table} (tag, t, v, s, q, r, h) FROM STDIN (FORMAT BINARY)"
SAMPLE_TYPES: Final = ("int4", "int8", "float8", "text", "int2", "int8", "int8")
INCOMING: Final = """
CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE {s}.samples) ON COMMIT DELETE ROWS
"""
UPSERT: Final = """
INSERT INTO {s}.samples SELECT * FROM incoming
ON CONFLICT (tag, t) DO UPDATE SET v = excluded.v, s = excluded.s, q = excluded.q,
    r = excluded.r, h = excluded.h
"""
SET_HOLDS: Final = """
UPDATE {s}.samples AS x SET h = u.h
FROM unnest(%(tags)s::int[], %(times)s::bigint[], %(holds)s::bigint[]) AS u(tag, t, h)
WHERE x.tag = u.tag AND x.t = u.t AND x.t >= %(lo)s AND x.t <= %(hi)s
"""
# The holds of samples in [lo, hi] of one tag, from the next sample (the first one after
# hi included); lo is the sample before the late stretch.
FIX_HOLDS: Final = """
WITH n AS (
    SELECT t, lead(t) OVER (ORDER BY t) - t AS h FROM {s}.samples
    WHERE tag = %(tag)s AND t >= %(lo)s AND t <= coalesce(
        (SELECT min(t) FROM {s}.samples WHERE tag = %(tag)s AND t > %(hi)s), %(hi)s))
UPDATE {s}.samples AS x SET h = n.h FROM n
WHERE x.tag = %(tag)s AND x.t = n.t AND x.t <= %(hi)s AND x.h IS DISTINCT FROM n.h
"""
BEFORE: Final = "SELECT max(t) FROM {s}.samples WHERE tag = %s AND t < %s"
LATEST: Final = """
SELECT u.tag, (SELECT max(t) FROM {s}.samples AS x WHERE x.tag = u.tag)
FROM unnest(%s::int[]) AS u(tag)
"""

ROLLUP_COLUMNS: Final = "t, n, good, valued, mn, mx, sm, area, cov, f, ft, l, lt"
_UPDATE_ROLLUP: Final = ", ".join(
    f"{c} = excluded.{c}" for c in ROLLUP_COLUMNS.split(", ") if c != "t"
)
_HELD: Final = "least(coalesce(x.h, %(w)s), {end} - x.t)"
MINUTES: Final = f"""
INSERT INTO {{s}}.rollups (tag, w, {ROLLUP_COLUMNS})
SELECT g.tag, %(w)s, g.m, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.v, g.t0,
       l.v, g.t1
FROM (
    SELECT d.tag, d.m, count(*) AS n, count(*) FILTER (WHERE x.q = 1) AS good,
           count(x.v) AS valued, min(x.v) AS mn, max(x.v) AS mx, coalesce(sum(x.v), 0) AS sm,
           coalesce(sum(x.v * {_HELD.format(end="d.m + %(w)s")}), 0) AS area,
           coalesce(sum({_HELD.format(end="d.m + %(w)s")}) FILTER (WHERE x.v IS NOT NULL),
                    0)::bigint AS cov,
           min(x.t) AS t0, max(x.t) AS t1
    FROM unnest(%(tags)s::int[], %(starts)s::bigint[]) AS d(tag, m)
    JOIN {{s}}.samples AS x ON x.tag = d.tag AND x.t >= d.m AND x.t < d.m + %(w)s
    GROUP BY d.tag, d.m) AS g
JOIN {{s}}.samples AS f ON f.tag = g.tag AND f.t = g.t0
JOIN {{s}}.samples AS l ON l.tag = g.tag AND l.t = g.t1
ON CONFLICT (tag, w, t) DO UPDATE SET {_UPDATE_ROLLUP}
"""
# Hours from their stored minutes: a minute's last value holds on to the next minute's
# first sample (nft) or the hour's end (sdk.historian.combine).
HOURS: Final = f"""
INSERT INTO {{s}}.rollups (tag, w, {ROLLUP_COLUMNS})
SELECT g.tag, %(h)s, g.hour, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.f, g.ft,
       l.l, g.lt
FROM (
    SELECT tag, hour, sum(n) AS n, sum(good) AS good, sum(valued) AS valued, min(mn) AS mn,
           max(mx) AS mx, sum(sm) AS sm,
           sum(area) + coalesce(sum(l * (coalesce(nft, hour + %(h)s) - t - %(w)s)), 0) AS area,
           (sum(cov) + coalesce(sum(coalesce(nft, hour + %(h)s) - t - %(w)s)
                                FILTER (WHERE l IS NOT NULL), 0))::bigint AS cov,
           min(t) AS t0, max(t) AS t1, min(ft) AS ft, max(lt) AS lt
    FROM (
        SELECT r.*, d.hour, lead(r.ft) OVER (PARTITION BY r.tag, d.hour ORDER BY r.t) AS nft
        FROM unnest(%(tags)s::int[], %(starts)s::bigint[]) AS d(tag, hour)
        JOIN {{s}}.rollups AS r
            ON r.tag = d.tag AND r.w = %(w)s AND r.t >= d.hour AND r.t < d.hour + %(h)s) AS m
    GROUP BY tag, hour) AS g
JOIN {{s}}.rollups AS f ON f.tag = g.tag AND f.w = %(w)s AND f.t = g.t0
JOIN {{s}}.rollups AS l ON l.tag = g.tag AND l.w = %(w)s AND l.t = g.t1
ON CONFLICT (tag, w, t) DO UPDATE SET {_UPDATE_ROLLUP}
"""
AGGREGATE: Final = f"""
SELECT %(o)s + g.k * %(w)s, g.n, g.good, g.valued, g.mn, g.mx, g.sm, g.area, g.cov, f.v, g.t0,
       l.v, g.t1
FROM (
    SELECT (x.t - %(o)s) / %(w)s AS k, count(*) AS n, count(*) FILTER (WHERE x.q = 1) AS good,
           count(x.v) AS valued, min(x.v) AS mn, max(x.v) AS mx, coalesce(sum(x.v), 0) AS sm,
           coalesce(sum(x.v * {_HELD.format(end="%(o)s + ((x.t - %(o)s) / %(w)s + 1) * %(w)s")}),
                    0) AS area,
           coalesce(sum({_HELD.format(end="%(o)s + ((x.t - %(o)s) / %(w)s + 1) * %(w)s")})
                    FILTER (WHERE x.v IS NOT NULL), 0)::bigint AS cov,
           min(x.t) AS t0, max(x.t) AS t1
    FROM {{s}}.samples AS x WHERE x.tag = %(tag)s AND x.t >= %(s)s AND x.t < %(e)s
    GROUP BY 1) AS g
JOIN {{s}}.samples AS f ON f.tag = %(tag)s AND f.t = g.t0
JOIN {{s}}.samples AS l ON l.tag = %(tag)s AND l.t = g.t1
ORDER BY g.k
"""
ROLLUPS: Final = (
    f"SELECT {ROLLUP_COLUMNS} FROM {{s}}.rollups WHERE tag = %s AND w = %s AND t >= %s AND t < %s"
    " ORDER BY t"
)
SAMPLES: Final = (
    "SELECT t, v, s, q, r FROM {s}.samples WHERE tag = %s AND t >= %s AND t < %s ORDER BY t"
    " LIMIT %s"
)
AT_OR_BEFORE: Final = (
    "SELECT t, v, s, q, r FROM {s}.samples WHERE tag = %s AND t <= %s ORDER BY t DESC LIMIT 1"
)
LATEST_ONE: Final = "SELECT max(t) FROM {s}.samples WHERE tag = %s"
AFTER: Final = "SELECT t, v, s, q, r FROM {s}.samples WHERE tag = %s AND t > %s ORDER BY t LIMIT 1"
