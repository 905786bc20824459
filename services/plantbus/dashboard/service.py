"""The dashboard gateway: serves the page and relays the bus to browsers over SSE.

Why a gateway of its own: browsers should not hold NATS credentials, one process can
coalesce the bus for any number of screens, and actions go through the same gRPC
services (and audits) as the CLI. Reading needs no token unless ``read_token_required``;
every action needs the bearer token and is audited with the token's user.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import grpc
from aiohttp import web
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from plantbus.dashboard.state import DashboardState
from plantbus.kit import subjects
from plantbus.kit.discovery import grpc_address
from plantbus.kit.rpc import channel
from plantbus.kit.service import Service, ServiceContext
from plantbus.sdk.errors import ConfigError, PlantbusError
from plantbus.v1 import alerting_pb2, alerting_pb2_grpc, oee_pb2, oee_pb2_grpc

__all__ = ["DashboardService"]

STATIC = Path(__file__).resolve().parent / "static"
_CLIENT_QUEUE = 500


def _json(msg: Message) -> dict[str, Any]:
    return MessageToDict(msg, preserving_proto_field_name=True)


class DashboardService(Service):
    """Serves http://HOST:PORT/ (default 127.0.0.1:8080)."""

    name: ClassVar[str] = "dashboard"
    follows_config = False

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        opts = ctx.options
        self.host = str(opts.get("http_host", "127.0.0.1"))
        self.port = int(opts.get("http_port", 8080))
        self.token = (
            str(opts.get("token") or os.environ.get("PLANTBUS_DASHBOARD_TOKEN", "")) or None
        )
        self.token_user = str(opts.get("token_user", "operator"))
        self.read_token_required = bool(opts.get("read_token_required", False))
        self.state = DashboardState()
        self.clients: set[asyncio.Queue[str]] = set()
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
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/api/state", self._get_state)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/alarms/{id}/{action}", self._alarm_action)
        app.router.add_post("/api/downtimes/{id}/classify", self._classify)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as err:
            raise ConfigError(
                f"dashboard cannot listen on {self.host}:{self.port}: "
                f"{err.strerror} (option dashboard.http_port)"
            ) from err
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.port = int(bound)
        self.url = f"http://{self.host}:{self.port}/"
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
        line = f"event: {kind}\ndata: {json.dumps(data)}\n\n"
        for queue in list(self.clients):
            if queue.qsize() >= _CLIENT_QUEUE:  # a stalled browser: drop it, it reconnects
                self.clients.discard(queue)
                queue.put_nowait("")
            else:
                queue.put_nowait(line)

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

    def _authorised(self, request: web.Request, for_action: bool) -> str | None:
        if not for_action and not self.read_token_required:
            return self.token_user
        if self.token is None:
            return None
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = given or request.query.get("token", "")
        return self.token_user if hmac.compare_digest(given, self.token) else None

    def _deny(self) -> web.Response:
        detail = (
            "actions need the dashboard token"
            if self.token
            else "actions are disabled: start the dashboard with a token (option dashboard.token)"
        )
        return web.json_response({"error": detail}, status=401)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _get_state(self, request: web.Request) -> web.Response:
        if self._authorised(request, for_action=False) is None:
            return self._deny()
        return web.json_response(self.state.snapshot())

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if self._authorised(request, for_action=False) is None:
            return self._deny()
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.clients.add(queue)
        try:
            await response.write(b": connected\n\n")
            while True:
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
            self.clients.discard(queue)
        return response

    async def _call(
        self,
        service: str,
        fn: Callable[[grpc.aio.Channel], Awaitable[Message]],
    ) -> Message:
        async with channel(await grpc_address(self.ctx.bus, service)) as chan:
            return await fn(chan)

    async def _alarm_action(self, request: web.Request) -> web.Response:
        user = self._authorised(request, for_action=True)
        if user is None:
            return self._deny()
        alarm_id, action = request.match_info["id"], request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        comment = str(body.get("comment", "from the dashboard"))
        meta = (("x-plantbus-user", user),)

        async def call(chan: grpc.aio.Channel) -> Message:
            stub = alerting_pb2_grpc.AlertingServiceStub(chan)
            if action == "ack":
                reply = await stub.Acknowledge(
                    alerting_pb2.AcknowledgeRequest(id=alarm_id, comment=comment), metadata=meta
                )
            elif action == "shelve":
                minutes = float(body.get("minutes", 60))
                reply = await stub.Shelve(
                    alerting_pb2.ShelveRequest(
                        id=alarm_id, duration_seconds=minutes * 60, comment=comment
                    ),
                    metadata=meta,
                )
            elif action == "reset":
                reply = await stub.Reset(
                    alerting_pb2.ResetRequest(id=alarm_id, comment=comment), metadata=meta
                )
            else:
                raise web.HTTPNotFound(text=f"unknown alarm action {action!r}")
            alarm: Message = reply.alarm
            return alarm

        return await self._act("alerting", f"alarm.{action}", alarm_id, user, call)

    async def _classify(self, request: web.Request) -> web.Response:
        user = self._authorised(request, for_action=True)
        if user is None:
            return self._deny()
        downtime_id = request.match_info["id"]
        body = await request.json()
        reason = str(body.get("reason", "")).strip()

        async def call(chan: grpc.aio.Channel) -> Message:
            reply = await oee_pb2_grpc.OeeServiceStub(chan).ClassifyDowntime(
                oee_pb2.ClassifyDowntimeRequest(id=downtime_id, reason=reason),
                metadata=(("x-plantbus-user", user),),
            )
            downtime: Message = reply.downtime
            return downtime

        return await self._act("oee", "downtime.classify", downtime_id, user, call)

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
            return web.json_response({"error": err.details()}, status=400)
        except PlantbusError as err:
            return web.json_response({"error": str(err)}, status=503)
        await self.ctx.audit(
            action=f"dashboard.{action}", target=target, actor=user, source="dashboard"
        )
        return web.json_response(_json(result))
