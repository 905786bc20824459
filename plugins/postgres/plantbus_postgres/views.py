"""The IT door: one view per data class, for SQL tools and Grafana's PostgreSQL datasource
(docs/historian.md documents each column and ships example queries, tested against a real
server). ``{s}`` is the store's schema; created (or replaced) at every open.

Every view has ``time`` (timestamptz, for display and Grafana's time column) and ``t_us``
(int64 microseconds, what the tables are keyed and partitioned by): filter large tables on
``t_us`` with ``{s}.us(timestamptz)`` so the index and partition pruning apply.
"""

from __future__ import annotations

from typing import Final

__all__ = ["VIEWS", "VIEW_NAMES"]

_KPIS: Final = """
       (doc->>'availability')::float8 AS availability,
       (doc->>'performance')::float8 AS performance,
       (doc->>'quality')::float8 AS quality,
       (doc->>'oee')::float8 AS oee,
       coalesce((doc->>'total_count')::bigint, 0) AS total_count,
       coalesce((doc->>'good_count')::bigint, 0) AS good_count,
       coalesce((doc->>'planned_busy_time_s')::float8, 0) AS planned_busy_time_s,
       coalesce((doc->>'actual_production_time_s')::float8, 0) AS actual_production_time_s,
       coalesce((doc->>'downtime_s')::float8, 0) AS downtime_s,
       doc->'downtime_by_reason' AS downtime_by_reason,
       doc->'kpis' AS kpis"""

_ROLLUP: Final = """
SELECT g.path AS tag, {{s}}.ts(r.t) AS time, r.t AS t_us, r.n AS count,
       r.good::float8 / r.n AS good_fraction, r.mn AS min, r.mx AS max,
       CASE WHEN r.valued > 0 THEN r.sm / r.valued END AS mean,
       CASE WHEN r.cov > 0 THEN r.area / r.cov END AS time_weighted_mean,
       r.f AS first, r.l AS last
FROM {{s}}.rollups AS r JOIN {{s}}.tags AS g ON g.id = r.tag WHERE r.w = {width}"""

VIEWS: Final = f"""
CREATE OR REPLACE FUNCTION {{s}}.us(at timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS 'SELECT (extract(epoch FROM at) * 1000000)::bigint';
CREATE OR REPLACE VIEW {{s}}.tag_samples AS
SELECT g.path AS tag, {{s}}.ts(x.t) AS time, x.t AS t_us, x.v AS value, x.s AS text,
       CASE x.q WHEN 1 THEN 'good' WHEN 2 THEN 'uncertain' WHEN 3 THEN 'bad'
                ELSE 'unspecified' END AS quality,
       {{s}}.ts(x.t + x.r) AS received
FROM {{s}}.samples AS x JOIN {{s}}.tags AS g ON g.id = x.tag;
CREATE OR REPLACE VIEW {{s}}.tag_minutes AS {_ROLLUP.format(width=60_000_000)};
CREATE OR REPLACE VIEW {{s}}.tag_hours AS {_ROLLUP.format(width=3_600_000_000)};
CREATE OR REPLACE VIEW {{s}}.oee_snapshots AS
SELECT scope, {{s}}.ts(t) AS time, t AS t_us, doc->>'shift' AS shift,
       doc->>'work_order' AS work_order, doc->>'state' AS state, doc->>'reason' AS reason,
       {_KPIS}
FROM {{s}}.events WHERE kind = 'oee';
CREATE OR REPLACE VIEW {{s}}.oee_final AS
SELECT DISTINCT ON (scope, key) scope, {{s}}.ts(t) AS time, t AS t_us,
       CASE WHEN coalesce(doc->>'shift', '') <> '' THEN 'shift' ELSE 'work_order' END AS period,
       coalesce(doc->>'shift', '') AS shift, coalesce(doc->>'work_order', '') AS work_order,
       coalesce((doc->>'revision')::integer, 0) AS revision,
       {_KPIS}
FROM {{s}}.events WHERE kind = 'oee_final'
ORDER BY scope, key, coalesce((doc->>'revision')::integer, 0) DESC, events.id DESC;
CREATE OR REPLACE VIEW {{s}}.downtimes AS
SELECT DISTINCT ON (key) key AS id, scope AS machine,
       (doc->>'start')::timestamptz AS start_time, (doc->>'end')::timestamptz AS end_time,
       extract(epoch FROM coalesce((doc->>'end')::timestamptz, now())
                          - (doc->>'start')::timestamptz)::float8 AS duration_s,
       coalesce(doc->>'reason', '') AS reason,
       coalesce((doc->>'planned')::boolean, false) AS planned,
       coalesce(doc->>'classified_by', '') AS classified_by, t AS t_us
FROM {{s}}.events WHERE kind = 'downtime'
ORDER BY key, events.id DESC;  -- the event's id, not the column id (the stop's)
CREATE OR REPLACE VIEW {{s}}.alarm_events AS
SELECT scope, {{s}}.ts(t) AS time, t AS t_us, key AS alarm, doc->>'rule' AS rule,
       doc->>'state' AS state, coalesce((doc->>'active')::boolean, false) AS active,
       doc->>'priority' AS priority, doc->>'message' AS message, doc->>'value' AS value
FROM {{s}}.events WHERE kind = 'alarm';
CREATE OR REPLACE VIEW {{s}}.work_orders AS
SELECT scope, {{s}}.ts(t) AS time, t AS t_us, key AS erp_id, doc->>'number' AS number,
       doc->>'product_code' AS product_code, doc->>'status' AS status,
       coalesce((doc->>'quantity')::float8, 0) AS quantity,
       coalesce((doc->>'produced')::float8, 0) AS produced,
       coalesce((doc->>'good_quantity')::float8, 0) AS good_quantity,
       coalesce((doc->>'scrap_quantity')::float8, 0) AS scrap_quantity
FROM {{s}}.events WHERE kind = 'work_order';
CREATE OR REPLACE VIEW {{s}}.confirmations AS
SELECT scope, {{s}}.ts(t) AS time, t AS t_us, doc->>'work_order_erp_id' AS work_order,
       coalesce((doc->>'good_quantity')::float8, 0) AS good_quantity,
       coalesce((doc->>'scrap_quantity')::float8, 0) AS scrap_quantity,
       coalesce((doc->>'run_seconds')::float8, 0) AS run_seconds,
       coalesce((doc->>'downtime_seconds')::float8, 0) AS downtime_seconds,
       coalesce((doc->>'final')::boolean, false) AS final
FROM {{s}}.events WHERE kind = 'confirmation';
CREATE OR REPLACE VIEW {{s}}.maintenance_events AS
SELECT scope AS machine, {{s}}.ts(t) AS time, t AS t_us, key AS subject,
       lower(replace(doc->>'kind', 'MAINTENANCE_EVENT_KIND_', '')) AS kind,
       coalesce(doc->>'message', '') AS message,
       (doc->'window'->>'score')::float8 AS score,
       (doc->'plan'->'forecast'->>'hours')::float8 AS forecast_hours,
       (doc->'plan'->'forecast'->>'hours_early')::float8 AS forecast_hours_early,
       (doc->'plan'->'forecast'->>'hours_late')::float8 AS forecast_hours_late
FROM {{s}}.events WHERE kind = 'maintenance';
"""
VIEW_NAMES: Final = (
    "tag_samples",
    "tag_minutes",
    "tag_hours",
    "oee_snapshots",
    "oee_final",
    "downtimes",
    "alarm_events",
    "work_orders",
    "confirmations",
    "maintenance_events",
)
"""Every view, in the order above (what ``grant_views_to`` grants)."""
