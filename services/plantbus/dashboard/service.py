"""The dashboard gateway: serves the page and relays the bus to browsers over SSE.

Why a gateway of its own: browsers should not hold NATS credentials, one process can
coalesce the bus for any number of screens, and actions go through the same gRPC
services (and audits) as the CLI, on behalf of the signed-in user. Who may read and act
is decided in ``auth``; ``http`` keeps every response JSON, strict and well-headed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import grpc
from aiohttp import web
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from plantbus.dashboard import trends
from plantbus.dashboard.auth import Gate
from plantbus.dashboard.http import (
    MAX_BODY,
    Classify,
    Comment,
    OutOfService,
    Refused,
    Shelve,
    errors_as_json,
    read_body,
    security_headers,
    strict_json,
)
from plantbus.dashboard.options import DashboardOptions
from plantbus.dashboard.sessions import Session
from plantbus.dashboard.state import DashboardState
from plantbus.kit import subjects
from plantbus.kit.discovery import grpc_address
from plantbus.kit.grpc_client import channel
from plantbus.kit.service import Service, ServiceContext
from plantbus.sdk.errors import ConfigError, PlantbusError
from plantbus.v1 import (
    alerting_pb2,
    alerting_pb2_grpc,
    historian_pb2,
    historian_pb2_grpc,
    oee_pb2,
    oee_pb2_grpc,
)

__all__ = ["DashboardService"]

T = TypeVar("T")
STATIC = Path(__file__).resolve().parent / "static"
_EVENT_PAGES = 5
"""Pages of 10,000 events at most per scope and trend (a week of OEE snapshots fits)."""
_CLIENT_QUEUE = 500
_ALARM_BODIES: dict[str, type[Comment] | type[OutOfService]] = {
    "ack": Comment,
    "shelve": Shelve,
    "reset": Comment,
    "out_of_service": OutOfService,
    "return_to_service": Comment,
}
_GRPC_STATUS = {
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}


def _json(msg: Message) -> dict[str, Any]:
    return MessageToDict(msg, preserving_proto_field_name=True)


class DashboardService(Service):
    """Serves http(s)://HOST:PORT/ (default http://127.0.0.1:8080)."""

    name: ClassVar[str] = "dashboard"
    follows_config = False

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.options = DashboardOptions.parse(ctx.options)
        self.port = self.options.http_port
        self.gate = Gate(self.options, ctx.audit, self._close_streams)
        self.state = DashboardState()
        self.clients: dict[asyncio.Queue[str], Session | None] = {}
        self._runner: web.AppRunner | None = None
        self._subs: list[Subscription] = []
        self.url = ""

    def health(self) -> tuple[bool, str]:
        """Serving with the page's URL as detail."""
        return True, self.url

    async def start(self) -> None:
        """Subscribe to the bus and start the web server."""
        handlers: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
            ("oee.>", self.state.on_oee, "oee"),
            ("alarm.>", self.state.on_alarm, "alarm"),
            ("downtime.>", self.state.on_downtime, "downtime"),
            ("erp.workorder.>", self.state.on_workorder, "workorder"),
            ("svc.>", self.state.on_heartbeat, "service"),
        ]
        for pattern, update, kind in handlers:
            self._subs.append(
                await self.ctx.bus.subscribe(
                    f"{subjects.PREFIX}.{pattern}", self._relay(update, kind)
                )
            )
        self._subs.append(
            await self.ctx.bus.subscribe(f"{subjects.PREFIX}.telemetry.>", self._on_telemetry)
        )
        app = web.Application(middlewares=[errors_as_json], client_max_size=MAX_BODY)
        app.on_response_prepare.append(security_headers)
        app.router.add_get("/", self._index)
        app.router.add_get("/login", self._index)  # the page exchanges the link's code
        app.router.add_static("/static/", STATIC)
        app.add_routes(self.gate.routes())
        app.router.add_get("/api/state", self._get_state)
        app.router.add_get("/api/events", self._events)
        app.router.add_get("/api/trend", self._trend)
        app.router.add_post("/api/alarms/{id:[^/]+}/{action}", self._alarm_action)
        app.router.add_post("/api/downtimes/{id:[^/]+}/classify", self._classify)
        tls = self.options.ssl_context()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.http_host, self.port, ssl_context=tls)
        try:
            await site.start()
        except OSError as err:
            raise ConfigError(
                f"dashboard cannot listen on {self.options.http_host}:{self.port}: "
                f"{err.strerror} (option dashboard.http_port)"
            ) from err
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.port = int(bound)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{self.options.http_host}:{self.port}/"
        self.ctx.log.info("dashboard on %s", self.url)

    async def stop(self) -> None:
        """Close browser streams and the web server."""
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        for queue in self.clients:
            queue.put_nowait("")
        if self._runner is not None:
            await self._runner.cleanup()

    def _push(self, kind: str, data: Any) -> None:
        line = f"event: {kind}\ndata: {strict_json(data)}\n\n"
        for queue in list(self.clients):
            if queue.qsize() >= _CLIENT_QUEUE:  # a stalled browser: drop it, it reconnects
                self.clients.pop(queue, None)
                queue.put_nowait("")
            else:
                queue.put_nowait(line)

    def _close_streams(self, session: Session) -> None:
        """A signed-out session's event streams end now."""
        for queue, owner in list(self.clients.items()):
            if owner is session:
                queue.put_nowait("")

    def _relay(
        self, update: Callable[[dict[str, Any]], Any], kind: str
    ) -> Callable[[str, Message, Msg], Awaitable[None]]:
        async def handler(subject: str, msg: Message, raw: Msg) -> None:
            data = _json(msg)
            update(data)
            self._push(kind, data)

        return handler

    async def _on_telemetry(self, subject: str, msg: Message, raw: Msg) -> None:
        for sample in _json(msg).get("samples", []):
            if self.state.on_sample(sample):
                self._push(
                    "quality", {"path": sample["path"], **self.state.quality[sample["path"]]}
                )

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _get_state(self, request: web.Request) -> web.Response:
        self.gate.reader(request)
        return web.json_response(self.state.snapshot(), dumps=strict_json)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        session = self.gate.reader(request)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.clients[queue] = session
        try:
            await response.write(b": connected\n\n")
            # an open page keeps its session; a signed-out or expired one loses the stream
            while session is None or self.gate.sessions.keep(session):
                try:
                    line = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    line = ": keep-alive\n\n"
                if not line:
                    break
                await response.write(line.encode())
        except ConnectionResetError:
            pass  # the browser went away; it reconnects on its own
        finally:
            self.clients.pop(queue, None)
        return response

    async def _call(self, service: str, fn: Callable[[grpc.aio.Channel], Awaitable[T]]) -> T:
        address = await grpc_address(self.ctx.bus, service)
        async with channel(address, self.ctx.grpc_tls) as chan:
            return await fn(chan)

    async def _trend(self, request: web.Request) -> web.Response:
        """GET /api/trend?series=...&start=ms&end=ms: points per series and the bands of
        the series' machines, from the historian, read as the signed-in user."""
        session = self.gate.reader(request)
        query = trends.parse(request.query.getall("series", []), request.query)
        meta = (("x-plantbus-user", session.user),) if session else ()

        async def call(chan: grpc.aio.Channel) -> dict[str, Any]:
            stub = historian_pb2_grpc.HistorianServiceStub(chan)
            series: list[dict[str, Any]] = []
            if query.tags:
                ask = historian_pb2.QueryHistoryRequest(
                    paths=list(query.tags), mode=historian_pb2.HISTORY_MODE_BUCKETED
                )
                ask.bucket.FromSeconds(query.bucket_s)
                ask = trends.request_range(ask, query.start_ms, query.end_ms)
                reply = await stub.QueryHistory(ask, metadata=meta)
                series += [{"name": n, "points": p} for n, p in trends.tag_points(reply).items()]
            snapshots: dict[str, list[historian_pb2.HistoryEvent]] = {}
            for scope, kpi in query.kpis:
                if scope not in snapshots:
                    kinds = [historian_pb2.EVENT_KIND_OEE]
                    snapshots[scope] = await _events(stub, kinds, scope, query, meta)
                points = trends.kpi_points(snapshots[scope], scope, kpi, query.bucket_s * 1000)
                series.append({"name": f"kpi:{scope}:{kpi}", "points": points})
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

        try:
            data = await self._call("historian", call)
        except grpc.aio.AioRpcError as err:
            raise Refused(_GRPC_STATUS.get(err.code(), 400), str(err.details())) from None
        except PlantbusError as err:
            raise Refused(503, str(err)) from None
        return web.json_response(data, dumps=strict_json)

    async def _alarm_action(self, request: web.Request) -> web.Response:
        _, session = self.gate.actor(request)
        alarm_id, action = request.match_info["id"], request.match_info["action"]
        model = _ALARM_BODIES.get(action)
        if model is None:
            raise Refused(
                404,
                f"unknown alarm action {action!r}: ack, shelve, reset, out_of_service or "
                "return_to_service",
            )
        body = await read_body(request, model)
        meta = (("x-plantbus-user", session.user),)

        async def call(chan: grpc.aio.Channel) -> Message:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            if isinstance(body, Shelve):
                reply = await stub.Shelve(
                    alerting_pb2.ShelveRequest(
                        id=alarm_id, duration_seconds=body.minutes * 60, comment=body.comment
                    ),
                    metadata=meta,
                )
            elif isinstance(body, OutOfService):
                reply = await stub.RemoveFromService(
                    alerting_pb2.RemoveFromServiceRequest(
                        id=alarm_id, comment=body.comment, duration_seconds=body.hours * 3600
                    ),
                    metadata=meta,
                )
            elif action == "return_to_service":
                reply = await stub.ReturnToService(
                    alerting_pb2.ReturnToServiceRequest(id=alarm_id, comment=body.comment),
                    metadata=meta,
                )
            elif action == "ack":
                reply = await stub.Acknowledge(
                    alerting_pb2.AcknowledgeRequest(id=alarm_id, comment=body.comment),
                    metadata=meta,
                )
            else:
                reply = await stub.Reset(
                    alerting_pb2.ResetRequest(id=alarm_id, comment=body.comment), metadata=meta
                )
            alarm: Message = reply.alarm
            return alarm

        return await self._act("alerting", f"alarm.{action}", alarm_id, session.user, call)

    async def _classify(self, request: web.Request) -> web.Response:
        _, session = self.gate.actor(request)
        downtime_id = request.match_info["id"]
        body = await read_body(request, Classify)

        async def call(chan: grpc.aio.Channel) -> Message:
            reply = await oee_pb2_grpc.OeeServiceStub(chan).ClassifyDowntime(
                oee_pb2.ClassifyDowntimeRequest(id=downtime_id, reason=body.reason.strip()),
                metadata=(("x-plantbus-user", session.user),),
            )
            downtime: Message = reply.downtime
            return downtime

        return await self._act("oee", "downtime.classify", downtime_id, session.user, call)

    async def _act(
        self,
        service: str,
        action: str,
        target: str,
        user: str,
        call: Callable[[grpc.aio.Channel], Awaitable[Message]],
    ) -> web.Response:
        try:
            result = await self._call(service, call)
        except grpc.aio.AioRpcError as err:
            raise Refused(_GRPC_STATUS.get(err.code(), 400), str(err.details())) from None
        except PlantbusError as err:
            raise Refused(503, str(err)) from None
        await self.ctx.audit(
            action=f"dashboard.{action}", target=target, actor=user, source="dashboard"
        )
        return web.json_response(_json(result))


async def _events(
    stub: historian_pb2_grpc.HistorianServiceStub,
    kinds: list[historian_pb2.EventKind],
    scope: str,
    query: trends.TrendQuery,
    meta: tuple[tuple[str, str], ...],
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
