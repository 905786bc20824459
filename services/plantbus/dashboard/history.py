"""GET /api/trend: the trend view's history from the historian, read as the signed-in user
(what the chart draws is made in the pure ``trends``)."""

from __future__ import annotations

import time
from typing import Any

import grpc
from aiohttp import web

from plantbus.dashboard import trends
from plantbus.dashboard.backend import Metadata, View, as_user
from plantbus.dashboard.http import Refused, strict_json
from plantbus.dashboard.maintenance import status
from plantbus.v1 import historian_pb2, historian_pb2_grpc, maintenance_pb2

__all__ = ["TrendView"]

_EVENT_PAGES = 5
"""Pages of 10,000 events at most per scope and trend (a week of OEE snapshots fits)."""
_NOW_MS = 60_000
"""A range that ends this close to now is live: it gets the tags' forecasts."""


async def _events(
    stub: historian_pb2_grpc.HistorianServiceStub,
    kinds: list[historian_pb2.EventKind],
    scope: str,
    query: trends.TrendQuery,
    meta: Metadata,
) -> list[historian_pb2.HistoryEvent]:
    """The events of ``kinds`` under ``scope`` in the query's range, a few pages at most."""
    out: list[historian_pb2.HistoryEvent] = []
    token = ""
    for _ in range(_EVENT_PAGES):
        ask = historian_pb2.QueryEventsRequest(kinds=kinds, scope=scope, page_token=token)
        reply = await stub.QueryEvents(
            trends.request_range(ask, query.start_ms, query.end_ms), metadata=meta
        )
        out.extend(reply.events)
        token = reply.next_page_token
        if not token:
            break
    return out


async def _tag_series(
    stub: historian_pb2_grpc.HistorianServiceStub, query: trends.TrendQuery, meta: Metadata
) -> list[dict[str, Any]]:
    if not query.tags:
        return []
    ask = historian_pb2.QueryHistoryRequest(
        paths=list(query.tags), mode=historian_pb2.HISTORY_MODE_BUCKETED
    )
    ask.bucket.FromSeconds(query.bucket_s)
    reply = await stub.QueryHistory(
        trends.request_range(ask, query.start_ms, query.end_ms), metadata=meta
    )
    return [{"name": n, "points": p} for n, p in trends.tag_points(reply).items()]


async def _kpi_series(
    stub: historian_pb2_grpc.HistorianServiceStub, query: trends.TrendQuery, meta: Metadata
) -> list[dict[str, Any]]:
    snapshots: dict[str, list[historian_pb2.HistoryEvent]] = {}
    series = []
    for scope, kpi in query.kpis:
        if scope not in snapshots:
            kinds = [historian_pb2.EVENT_KIND_OEE]
            snapshots[scope] = await _events(stub, kinds, scope, query, meta)
        points = trends.kpi_points(snapshots[scope], scope, kpi, query.bucket_s * 1000)
        series.append({"name": f"kpi:{scope}:{kpi}", "points": points})
    return series


class TrendView(View):
    """Points per series and the bands of the series' machines over the asked range."""

    def routes(self) -> list[web.RouteDef]:
        """The trend's one route."""
        return [web.get("/api/trend", self.trend)]

    async def trend(self, request: web.Request) -> web.Response:
        """GET /api/trend?series=...&start=ms&end=ms."""
        session = self.gate.reader(request)
        query = trends.parse(request.query.getall("series", []), request.query)
        meta = as_user(session)

        async def call(chan: grpc.aio.Channel) -> dict[str, Any]:
            stub = historian_pb2_grpc.HistorianServiceStub(chan)
            series = await _tag_series(stub, query, meta) + await _kpi_series(stub, query, meta)
            kinds = [historian_pb2.EVENT_KIND_DOWNTIME, historian_pb2.EVENT_KIND_ALARM]
            found = {}
            for scope in query.scopes():
                for e in await _events(stub, kinds, scope, query, meta):
                    found[(e.kind, e.key, e.time.ToMicroseconds(), e.SerializeToString())] = e
            return {
                "start": query.start_ms,
                "end": query.end_ms,
                "bucket_s": query.bucket_s,
                "series": series,
                "bands": trends.bands(found.values(), query.start_ms, query.end_ms),
            }

        data = await self.backend.call("historian", call)
        data["forecasts"], data["forecast_error"] = await self._forecasts(query, meta)
        return web.json_response(data, dumps=strict_json)

    async def _forecasts(
        self, query: trends.TrendQuery, meta: Metadata
    ) -> tuple[list[dict[str, Any]], str]:
        """The maintenance service's forecasts of the chart's tags, drawn ahead of now by the
        range's length; none for a range in the past. The trend stands without them: a
        refusal or an absent service is said in the second item."""
        now = int(time.time() * 1000)
        if not query.tags or query.end_ms < now - _NOW_MS:
            return [], ""
        plans: list[maintenance_pb2.PlanState] = []
        try:
            for machine in sorted({"/".join(t.split("/")[:4]) for t in query.tags}):
                plans += (await status(self.backend, meta, machine)).plans
        except Refused as err:
            return [], f"no forecasts: {err}"
        horizon = now + (query.end_ms - query.start_ms)
        return trends.forecasts(plans, query.tags, now, horizon), ""
