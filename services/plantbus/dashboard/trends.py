"""The trend view's data: the page's query checked, and the historian's answers (buckets,
OEE snapshots, downtime and alarm events) made into what the chart draws: points per
series and bands on the same time axis. Pure: the service does the calls."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from plantbus.dashboard.http import Refused
from plantbus.v1 import historian_pb2, maintenance_pb2

__all__ = [
    "KPIS",
    "TrendQuery",
    "bands",
    "forecasts",
    "kpi_points",
    "parse",
    "request_range",
    "tag_points",
]

KPIS: Final = ("oee", "availability", "performance", "quality")
MAX_SERIES: Final = 8
MAX_RANGE_MS: Final = 400 * 86_400_000
POINTS: Final = 500
"""About how many points a series gets: the bucket is the range over this."""
_US = 1000
_HOUR_MS = 3_600_000


@dataclass(frozen=True)
class TrendQuery:
    """What the page asks: series (tag paths, or ``kpi:<scope>:<oee|availability|
    performance|quality>``) over [start, end) in milliseconds since the epoch."""

    tags: tuple[str, ...]
    kpis: tuple[tuple[str, str], ...]
    """(scope, kpi) pairs."""
    start_ms: int
    end_ms: int

    @property
    def bucket_s(self) -> int:
        """Whole seconds; whole minutes from a minute on, so minute rollups serve it."""
        width = max(1, -(-(self.end_ms - self.start_ms) // (POINTS * 1000)))
        return width if width < 60 else -(-width // 60) * 60

    def scopes(self) -> list[str]:
        """The machines (or lines) whose stops and alarms are drawn as bands."""
        found = {"/".join(t.split("/")[:4]) for t in self.tags} | {s for s, _ in self.kpis}
        return sorted(found)


def _int(query: Mapping[str, str], name: str) -> int:
    value = query.get(name, "")
    try:
        return int(value)
    except ValueError:
        raise Refused(400, f"{name} must be milliseconds since the epoch, not {value!r}") from None


def parse(series: Sequence[str], query: Mapping[str, str]) -> TrendQuery:
    """The page's query (``series`` repeated, ``start``, ``end``); Refused(400) naming
    what is wrong."""
    if not series:
        raise Refused(400, "give at least one series (a tag path or kpi:<scope>:<kpi>)")
    if len(series) > MAX_SERIES:
        raise Refused(400, f"at most {MAX_SERIES} series on one chart, not {len(series)}")
    tags: list[str] = []
    kpis: list[tuple[str, str]] = []
    for name in series:
        if not name or len(name) > 300 or not name.isprintable():
            raise Refused(400, "a series is a tag path or kpi:<scope>:<kpi>, at most 300 chars")
        if name.startswith("kpi:"):
            scope, _, kpi = name[4:].rpartition(":")
            if kpi not in KPIS or not scope:
                raise Refused(400, f"{name!r}: write kpi:<scope>:<{'|'.join(KPIS)}>")
            kpis.append((scope, kpi))
        else:
            tags.append(name)
    start, end = _int(query, "start"), _int(query, "end")
    if not 0 < start < end:
        raise Refused(400, "the range is empty: start must be before end")
    if end - start > MAX_RANGE_MS:
        raise Refused(400, "the range is longer than 400 days")
    return TrendQuery(tuple(tags), tuple(kpis), start, end)


def tag_points(reply: historian_pb2.QueryHistoryResponse) -> dict[str, list[list[float]]]:
    """Per tag, [time ms, mean] of each bucket with a numeric value."""
    return {
        t.path: [[b.start.ToMilliseconds(), b.mean] for b in t.buckets if b.HasField("mean")]
        for t in reply.tags
    }


def kpi_points(
    events: Iterable[historian_pb2.HistoryEvent], scope: str, kpi: str, bucket_ms: int
) -> list[list[float]]:
    """[time ms, value] of ``kpi`` from the OEE snapshots of exactly ``scope``: the last
    one in each bucket, so a week stays a few hundred points."""
    last: dict[int, list[float]] = {}
    for e in events:
        if e.scope != scope or not e.oee.HasField(kpi):
            continue
        t = e.time.ToMilliseconds()
        last[t - t % bucket_ms] = [t, getattr(e.oee, kpi)]
    return [last[k] for k in sorted(last)]


def bands(
    events: Iterable[historian_pb2.HistoryEvent], start_ms: int, end_ms: int
) -> list[dict[str, Any]]:
    """Stops (downtime episodes) and active alarms as [start, end) bands clipped to the
    range: a stop from its start to its end (or the range's end while it lasts); an alarm
    from the change that made it active to the one that cleared it."""
    stops: dict[str, dict[str, Any]] = {}
    alarms: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for e in sorted(events, key=lambda e: e.time.ToMilliseconds()):
        if e.HasField("downtime"):
            d = e.downtime
            began = d.start.ToMilliseconds() if d.HasField("start") else None
            band = stops.setdefault(
                e.key, {"kind": "stop", "scope": d.machine, "start": began, "end": None}
            )
            band["start"] = began if began is not None else band["start"]
            band["end"] = d.end.ToMilliseconds() if d.HasField("end") else band["end"]
            band["label"] = d.reason or "unclassified"
            band["planned"] = d.planned
        elif e.HasField("alarm"):
            a, t = e.alarm, e.time.ToMilliseconds()
            label = a.message or a.rule or e.key
            if a.active and e.key not in alarms:
                alarms[e.key] = {"kind": "alarm", "scope": a.scope, "start": t, "label": label}
            elif not a.active:
                opened = {"kind": "alarm", "scope": a.scope, "start": start_ms, "label": label}
                out.append({**alarms.pop(e.key, opened), "end": t})
    out += [{**b, "end": None} for b in alarms.values()]
    out += list(stops.values())
    clipped = []
    for band in out:
        lo = max(start_ms, band["start"] if band["start"] is not None else start_ms)
        hi = min(end_ms, band["end"] if band["end"] is not None else end_ms)
        if lo < hi:
            clipped.append({**band, "start": lo, "end": hi})
    return sorted(clipped, key=lambda b: (b["start"], b["kind"]))


def request_range(request: Any, start_ms: int, end_ms: int) -> Any:
    """``request`` with start and end set (microseconds on the wire)."""
    request.start.FromMicroseconds(start_ms * _US)
    request.end.FromMicroseconds(end_ms * _US)
    return request


def _toward(
    level: float, limit: float, hours: float | None, now: int, horizon: int
) -> list[list[float]]:
    """[time ms, value] from ``level`` now to ``limit`` in ``hours`` (flat when it never
    gets there), cut at ``horizon``."""
    if hours is None:
        return [[now, level], [horizon, level]]
    reach = now + hours * _HOUR_MS
    if reach <= horizon:
        return [[now, level], [reach, limit]]
    return [[now, level], [horizon, level + (limit - level) * (horizon - now) / (reach - now)]]


def forecasts(
    plans: Iterable[maintenance_pb2.PlanState], tags: Sequence[str], now_ms: int, horizon_ms: int
) -> list[dict[str, Any]]:
    """The forecasts of the condition plans on ``tags``, drawn from now to ``horizon_ms``:
    the fitted trend to the limit (``forecast``), its band (``early``, ``late``) and the
    limit itself."""
    out = []
    for p in plans:
        fc = p.forecast
        if not p.HasField("forecast") or fc.tag not in tags:
            continue
        hours = fc.hours if fc.HasField("hours") else None
        early = fc.hours_early if fc.HasField("hours_early") else hours
        late = fc.hours_late if fc.HasField("hours_late") else None
        out.append(
            {
                "plan": p.plan,
                "tag": fc.tag,
                "indicator": fc.indicator,
                "limit": fc.limit,
                "level": fc.level,
                "hours": hours,
                "hours_early": early,
                "hours_late": late,
                "message": p.message,
                "forecast": _toward(fc.level, fc.limit, hours, now_ms, horizon_ms),
                "early": _toward(fc.level, fc.limit, early, now_ms, horizon_ms),
                "late": _toward(fc.level, fc.limit, late, now_ms, horizon_ms),
                "limit_line": [[now_ms, fc.limit], [horizon_ms, fc.limit]],
            }
        )
    return out
