"""The webhook request connector passes the maintenance connector conformance kit,
against a local Standard Webhooks receiver that checks every signature and files each
webhook-id once (tests/maintenance_hooks.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp import web
from plantbus_maintenance_webhook.connector import WebhookRequests

from plantbus.testing.maintenance_kit import ConformanceTarget, MaintenanceConformance
from plantbus.testing.ports import free_port
from tests.maintenance_hooks import SECRET, Receiver


class KitReceiver:
    """The receiver on a fixed local port, stopped and started again at that port; while
    refusing it answers 422."""

    def __init__(self) -> None:
        self.hooks = Receiver()
        self.port = free_port()
        self.refusing = False
        self._runner: web.AppRunner | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return {"url": f"http://127.0.0.1:{self.port}/hook", "secret": SECRET}

    @property
    def secrets(self) -> Sequence[str]:
        return [SECRET, SECRET.removeprefix("whsec_")]

    async def received(self) -> list[str]:
        return [body["key"] for body in self.hooks.filed.values()]

    async def refuse(self, on: bool) -> None:
        self.refusing = on

    async def _handle(self, request: web.Request) -> web.Response:
        if self.refusing:
            return web.Response(status=422, text="unknown machine")
        return await self.hooks.handle(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class TestWebhookRequests(MaintenanceConformance):
    connector_class = WebhookRequests

    @pytest.fixture
    async def conformance_target(self) -> AsyncIterator[ConformanceTarget]:
        receiver = KitReceiver()
        await receiver.start()
        yield receiver
        await receiver.stop()
