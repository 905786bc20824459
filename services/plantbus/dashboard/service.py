"""The dashboard gateway: serves the page and relays the bus to browsers over SSE.

Why a gateway of its own: browsers should not hold NATS credentials, one process can
coalesce the bus for any number of screens, and actions go through the same gRPC
services (and audits) as the CLI, on behalf of the signed-in user. Who may read and act
is decided in ``auth``; ``http`` keeps every response JSON, strict and well-headed; the
calls to the services are in ``backend``, the routes beyond the page in ``actions``,
``history``, ``alarm_metrics`` and ``maintenance``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from aiohttp import web
from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import BadSubscriptionError, ConnectionClosedError, ConnectionDrainingError

from plantbus.dashboard.actions import Actions
from plantbus.dashboard.alarm_metrics import AlarmMetricsView
from plantbus.dashboard.auth import Gate
from plantbus.dashboard.backend import Backend, as_json
from plantbus.dashboard.history import TrendView
from plantbus.dashboard.http import MAX_BODY, errors_as_json, security_headers, strict_json
from plantbus.dashboard.maintenance import MaintenanceView
from plantbus.dashboard.options import DashboardOptions
from plantbus.dashboard.quality import QualityWatch
from plantbus.dashboard.state import DashboardState
from plantbus.dashboard.streams import Streams
from plantbus.kit import subjects
from plantbus.kit.service import Service, ServiceContext
from plantbus.sdk.errors import ConfigError

__all__ = ["DashboardService"]

STATIC = Path(__file__).resolve().parent / "static"
_GONE = (ConnectionClosedError, ConnectionDrainingError, BadSubscriptionError)
"""What unsubscribing raises once the connection (or the subscription) is gone already."""


class DashboardService(Service):
    """Serves http(s)://HOST:PORT/ (default http://127.0.0.1:8080)."""

    name: ClassVar[str] = "dashboard"
    follows_config = False

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.options = DashboardOptions.parse(ctx.options)
        self.port = self.options.http_port
        self.streams = Streams()
        self.gate = Gate(self.options, ctx.audit, self.streams.close)
        self.backend = Backend(ctx.bus, ctx.grpc_tls, ctx.audit)
        self.state = DashboardState()
        self.quality = QualityWatch(self.streams.push)
        self._runner: web.AppRunner | None = None
        self._subs: list[Subscription] = []
        self.url = ""

    def health(self) -> tuple[bool, str]:
        """Serving with the page's URL as detail."""
        return True, self.url

    async def start(self) -> None:
        """Subscribe to the bus and start the web server."""
        await self._subscribe()
        self.tasks.spawn(self.quality.run(), name="dashboard-quality")
        tls = self.options.ssl_context()
        self._runner = web.AppRunner(self._app(), access_log=None)
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
            with contextlib.suppress(*_GONE):  # the bus closed first: nothing left to hear
                await sub.unsubscribe()
        self._subs.clear()
        self.streams.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await super().stop()

    async def _subscribe(self) -> None:
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
        # every tag's samples, a device cycle a message, read raw for their quality alone
        cycles = f"{subjects.PREFIX}.cycle.>"
        self._subs.append(await self.ctx.bus.nc.subscribe(cycles, cb=self.quality.on_message))

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[errors_as_json], client_max_size=MAX_BODY)
        app.on_response_prepare.append(security_headers)
        app.router.add_get("/", self._index)
        app.router.add_get("/login", self._index)  # the page exchanges the link's code
        app.router.add_static("/static/", STATIC)
        app.add_routes(self.gate.routes())
        app.router.add_get("/api/state", self._get_state)
        app.router.add_get("/api/events", self._events)
        for view in (
            TrendView(self.gate, self.backend),
            Actions(self.gate, self.backend),
            AlarmMetricsView(self.gate, self.backend),
            MaintenanceView(self.gate, self.backend),
        ):
            app.add_routes(view.routes())
        return app

    def _relay(
        self, update: Callable[[dict[str, Any]], Any], kind: str
    ) -> Callable[[str, Message, Msg], Awaitable[None]]:
        async def handler(subject: str, msg: Message, raw: Msg) -> None:
            data = as_json(msg)
            update(data)
            self.streams.push(kind, data)

        return handler

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _get_state(self, request: web.Request) -> web.Response:
        self.gate.reader(request)
        snapshot = {**self.state.snapshot(), "quality": self.quality.tags}
        return web.json_response(snapshot, dumps=strict_json)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        session = self.gate.reader(request)
        return await self.streams.serve(request, session, self.gate.sessions.keep)
