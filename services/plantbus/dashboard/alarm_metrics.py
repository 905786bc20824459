"""GET /api/alarm-metrics?range=hour|shift|day|week: the alarm-performance panel.

The figures are the alerting service's (``GetAlarmMetrics`` over the range, called as the
signed-in user, so ``alarm.read`` is checked there); this module only sets each beside its
ISA-18.2-2016 / EEMUA 191 target and marks the ones that miss it (``ok: false``). The
targets are those of docs/alerting.md; they assume the default period of 10 minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import grpc
from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from plantbus.dashboard.backend import View, as_user
from plantbus.dashboard.http import Refused, strict_json
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc

__all__ = ["RANGES", "AlarmMetricsView", "assess"]

RANGES: Final = {"hour": 3600, "shift": 8 * 3600, "day": 86400, "week": 7 * 86400}
"""The panel's ranges, each ending now, in seconds."""


@dataclass(frozen=True)
class Target:
    """A figure's target in words and the test a value must pass to meet it."""

    text: str
    met: Callable[[float], bool]


_POSITION: Final = {
    "average_per_period": ("alarms per 10 min", Target("~1 (max ~2)", lambda v: v <= 2)),
    "average_per_hour": ("alarms per hour", Target("~6 (max ~12)", lambda v: v <= 12)),
    "percent_periods_above": (
        "% of 10-min periods above 10 alarms",
        Target("< 1 %", lambda v: v < 1),
    ),
    "peak": ("peak alarms in 10 min", Target("<= 10", lambda v: v <= 10)),
    "percent_in_flood": ("% of time in flood", Target("< 1 %", lambda v: v < 1)),
}
_PRIORITY: Final = {
    "low": Target("~80 %", lambda v: True),
    "medium": Target("~15 %", lambda v: v <= 15),
    "high": Target("~5 %", lambda v: v <= 5),
    "urgent": Target("< 1 %", lambda v: v < 1),
}
_STANDING: Final = Target("< 10 (EEMUA 191)", lambda v: v < 10)
_STALE: Final = Target("< 5 on any day", lambda v: v < 5)
_NONE: Final = Target("0", lambda v: v == 0)
_TOP_LOAD: Final = Target("<= 5 % of the load", lambda v: v <= 5)


def _figure(key: str, label: str, value: float, target: Target) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "value": value,
        "target": target.text,
        "ok": target.met(value),
    }


def _ms(ts: Timestamp) -> int:
    """Rounded: alerting's times pass through float seconds (1.029 s may come back 1.028999)."""
    return round(ts.ToMicroseconds() / 1000)


def _priorities(m: alerting_pb2.GetAlarmMetricsResponse) -> list[dict[str, Any]]:
    total = max(m.annunciated, 1)
    out = []
    for name in [*_PRIORITY, *sorted(set(m.annunciated_by_priority) - set(_PRIORITY))]:
        count = m.annunciated_by_priority.get(name, 0)
        percent = 100 * count / total
        target = _PRIORITY.get(name, Target("", lambda v: True))
        out.append({"priority": name, "count": count, **_figure(name, name, percent, target)})
    return out


def assess(m: alerting_pb2.GetAlarmMetricsResponse, range_name: str) -> dict[str, Any]:
    """The reply as the panel shows it: every figure with its target and whether it meets it."""
    positions = [
        {
            "position": p.position,
            "annunciated": p.annunciated,
            "periods": p.periods,
            "floods": p.floods,
            "peak_start": _ms(p.peak_start) if p.HasField("peak_start") else None,
            "figures": [
                _figure(key, label, float(getattr(p, key)), target)
                for key, (label, target) in _POSITION.items()
            ],
        }
        for p in m.positions
    ]
    fleeting = sorted(m.fleeting.items())
    figures = [
        _figure("standing", "standing alarms", len(m.standing_alarms), _STANDING),
        _figure("stale", "stale alarms (> 24 h)", len(m.stale_in_range), _STALE),
        _figure("chattering", "chattering alarms", len(m.chattering_in_range), _NONE),
        _figure("fleeting", "fleeting alarms", len(fleeting), _NONE),
        _figure("top_load", "% of the load from the top 10", m.percent_top_load, _TOP_LOAD),
    ]
    return {
        "range": range_name,
        "start": _ms(m.start),
        "end": _ms(m.end),
        "source": m.source,
        "annunciated": m.annunciated,
        "positions": positions,
        "priorities": _priorities(m),
        "figures": figures,
        "standing": [{"id": s.id, "since": _ms(s.since)} for s in m.standing_alarms],
        "stale": list(m.stale_in_range),
        "chattering": list(m.chattering_in_range),
        "fleeting": [{"id": i, "count": n} for i, n in fleeting],
        "bad_actors": [
            {"id": b.id, "annunciated": b.annunciated, "percent_of_load": b.percent_of_load}
            for b in m.bad_actors
        ],
        "hidden": dict(sorted(m.hidden.items())),
    }


class AlarmMetricsView(View):
    """The panel's one route."""

    def routes(self) -> list[web.RouteDef]:
        """GET /api/alarm-metrics."""
        return [web.get("/api/alarm-metrics", self.metrics)]

    async def metrics(self, request: web.Request) -> web.Response:
        """The figures of the last hour, shift (8 h), day or week."""
        session = self.gate.reader(request)
        range_name = request.query.get("range", "hour")
        if range_name not in RANGES:
            raise Refused(400, f"range must be one of {', '.join(RANGES)}, not {range_name!r}")
        end_ms = int(time.time() * 1000)  # whole milliseconds: the page shows the same range
        ask = alerting_pb2.GetAlarmMetricsRequest()
        ask.end.FromMilliseconds(end_ms)
        ask.start.FromMilliseconds(end_ms - RANGES[range_name] * 1000)

        async def call(chan: grpc.aio.Channel) -> alerting_pb2.GetAlarmMetricsResponse:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            reply: alerting_pb2.GetAlarmMetricsResponse = await stub.GetAlarmMetrics(
                ask, metadata=as_user(session)
            )
            return reply

        reply = await self.backend.call("alerting", call)
        return web.json_response(assess(reply, range_name), dumps=strict_json)
