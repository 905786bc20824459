"""The webhook request connector passes the maintenance connector conformance kit,
against a local Standard Webhooks receiver that checks every signature and files each
webhook-id once (tests/maintenance_hooks.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from plantbus_maintenance_webhook.connector import WebhookRequests

from plantbus.testing.maintenance_kit import ConformanceTarget, MaintenanceConformance
from plantbus.testing.ports import free_port
from tests.maintenance_hooks import SECRET, Receiver, receiving


class KitReceiver:
    """The receiver on one local port: stopped (connections refused) and started again
    at that port, keeping what it filed."""

    def __init__(self) -> None:
        self.hooks = Receiver()
        self.port = free_port()
        self._serving = contextlib.AsyncExitStack()

    @property
    def settings(self) -> dict[str, Any]:
        return {"url": f"http://127.0.0.1:{self.port}/hook", "secret": SECRET}

    @property
    def secrets(self) -> Sequence[str]:
        return [SECRET, SECRET.removeprefix("whsec_")]

    async def received(self) -> list[str]:
        return [body["key"] for body in self.hooks.filed.values()]

    async def refuse(self, on: bool) -> None:
        self.hooks.refusing = on

    async def start(self) -> None:
        await self._serving.enter_async_context(receiving(self.hooks, self.port))

    async def stop(self) -> None:
        await self._serving.aclose()


class TestWebhookRequests(MaintenanceConformance):
    connector_class = WebhookRequests

    @pytest.fixture
    async def conformance_target(self) -> AsyncIterator[ConformanceTarget]:
        receiver = KitReceiver()
        await receiver.start()
        yield receiver
        await receiver.stop()
