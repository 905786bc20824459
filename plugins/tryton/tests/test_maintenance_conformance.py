"""The Tryton maintenance-request connector passes the maintenance connector conformance
kit, against a real trytond with the project module (the dev server fixture of
plantbus_tryton.pytest_plugin): what it filed is read back from the project's tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from plantbus_tryton.devserver import ADMIN_PASSWORD
from plantbus_tryton.maintenance import MARKER, TrytonRequests
from plantbus_tryton.pytest_plugin import TrytonErp
from plantbus_tryton.readback import project_tasks
from plantbus_tryton.rpc import TrytonRpc
from plantbus_tryton.sample import maintenance_project

from plantbus.testing.maintenance_kit import ConformanceTarget, MaintenanceConformance

PROJECT = "Maintenance"


class KitTryton:
    """The test trytond behind the kit's interface: stopping it stops the server process;
    refusing renames the maintenance project away (the connector's refusal: no project)."""

    def __init__(self, erp: TrytonErp, rpc: TrytonRpc, project: int) -> None:
        self.erp, self.rpc, self.project = erp, rpc, project

    @property
    def settings(self) -> dict[str, Any]:
        return self.erp.request_settings(PROJECT)

    @property
    def secrets(self) -> Sequence[str]:
        return [ADMIN_PASSWORD]

    async def received(self) -> list[str]:
        tasks = sorted(await project_tasks(self.rpc, self.project), key=lambda t: t["id"])
        return [t["comment"].rsplit("\n", 1)[-1].removeprefix(MARKER) for t in tasks]

    async def refuse(self, on: bool) -> None:
        name = f"{PROJECT} (closed)" if on else PROJECT
        await self.rpc.call("project.work", "write", [self.project], {"name": name})

    async def stop(self) -> None:
        await asyncio.to_thread(self.erp.server.stop)

    async def start(self) -> None:
        await asyncio.to_thread(self.erp.server.start)


class TestTrytonRequests(MaintenanceConformance):
    connector_class = TrytonRequests

    @pytest.fixture
    async def conformance_target(self, tryton: TrytonErp) -> AsyncIterator[ConformanceTarget]:
        rpc = tryton.rpc()
        await rpc.login()
        project = await maintenance_project(rpc, tryton.plant.company, PROJECT)
        yield KitTryton(tryton, rpc, project)
        await rpc.close()
