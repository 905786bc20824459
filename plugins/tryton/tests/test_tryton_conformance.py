"""The Tryton connector passes the Plantbus connector conformance kit, against a real
trytond (the dev server fixture of plantbus_tryton.pytest_plugin)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from plantbus_tryton.connector import TrytonConnector
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import outputs
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import release_order

from plantbus.testing.connector_kit import ConformanceErp, ConnectorConformance


class KitTryton:
    """The test trytond behind the kit's interface; stopping it stops the server process."""

    def __init__(self, erp: TrytonErp, rpc: TrytonRpc) -> None:
        self.erp, self.rpc = erp, rpc

    @property
    def settings(self) -> dict[str, Any]:
        return self.erp.settings()

    @property
    def unknown_order(self) -> str:
        return "999999"

    async def release(self, reference: str, quantity: float) -> str:
        return str(await release_order(self.rpc, self.erp.plant, reference, quantity))

    async def booked(self, erp_id: str) -> tuple[float, float]:
        moved = await outputs(self.rpc, int(erp_id))
        return moved.get("storage", 0.0), moved.get("lost_found", 0.0)

    async def stop(self) -> None:
        await asyncio.to_thread(self.erp.server.stop)

    async def start(self) -> None:
        await asyncio.to_thread(self.erp.server.start)


class TestTrytonConnector(ConnectorConformance):
    connector_class = TrytonConnector

    @pytest.fixture
    async def conformance_erp(self, tryton: TrytonErp) -> AsyncIterator[ConformanceErp]:
        rpc = tryton.rpc()
        await rpc.login()
        yield KitTryton(tryton, rpc)
        await rpc.close()
