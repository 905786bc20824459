"""The B2MML connector: an ERP exchange through watched directories, no ERP server needed.

ERPs, MES bridges and integration platforms almost all export and import ISA-95 B2MML,
so a pair of directories (a file share, an SFTP drop) connects Plantbus to them without
code. Work orders are read from ``inbox/*.xml`` (ProductionSchedule); each confirmation
is written atomically as ``outbox/<idempotency key>.xml`` (ProductionPerformance), so a
re-sent confirmation finds its file and writes nothing twice.
"""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from plantbus.sdk import API_VERSION
from plantbus.sdk.connector import (
    Capabilities,
    Confirmation,
    ErpConnector,
    WorkOrder,
    WorkOrderStatus,
)
from plantbus.sdk.errors import ErpRejected, ErpUnavailable
from plantbus.sdk.plugin import PluginManifest
from plantbus_b2mml.schedule import parse_schedule, performance_xml, schedule_xml

__all__ = ["B2mmlConnector", "B2mmlSettings"]

_SAFE = re.compile(r"[^A-Za-z0-9_.=-]")


class B2mmlSettings(BaseModel):
    """The exchange directories (created when missing)."""

    model_config = ConfigDict(extra="forbid")
    inbox: Path
    outbox: Path


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class B2mmlConnector(ErpConnector):
    """ProductionSchedule files in, ProductionPerformance files out."""

    manifest = PluginManifest("b2mml", "0.1.0", API_VERSION, "ISA-95 B2MML files")
    Settings = B2mmlSettings
    capabilities = Capabilities(status_updates=True, confirmations=True)

    def __init__(self, settings: BaseModel) -> None:
        super().__init__(settings)
        assert isinstance(settings, B2mmlSettings)
        self.inbox, self.outbox = settings.inbox, settings.outbox
        self.products: dict[str, str] = {}

    async def open(self) -> None:
        """Create the directories; ErpUnavailable when they cannot be used."""
        try:
            self.inbox.mkdir(parents=True, exist_ok=True)
            self.outbox.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ErpUnavailable(f"B2MML exchange directory unusable: {err}") from err

    async def seed_demo(self) -> None:
        """Drop a demo ProductionSchedule with two orders into an inbox that has none."""
        if any(self.inbox.glob("*.xml")):
            return
        now = datetime.now(UTC)
        orders = [
            WorkOrder(
                f"WO-{now:%y%m%d}-{i}",
                f"WO-{now:%y%m%d}-{i}",
                code,
                name,
                quantity,
                planned_start=now + timedelta(minutes=30 * i),
                ideal_cycle_time_s=cycle_s,
            )
            for i, (code, name, quantity, cycle_s) in enumerate(
                [
                    ("SHAFT-20", "Drive shaft 20 mm", 20.0, 1.8),
                    ("FLANGE-8", "Flange 8 holes", 40.0, 1.5),
                ],
                start=1,
            )
        ]
        _write_atomic(self.inbox / "demo-schedule.xml", schedule_xml(orders))

    def _read(self) -> list[WorkOrder]:
        orders: list[WorkOrder] = []
        for path in sorted(self.inbox.glob("*.xml")):
            orders += parse_schedule(path.read_bytes(), str(path))
        return orders

    async def list_work_orders(self, cursor: str | None) -> tuple[list[WorkOrder], str]:
        """Every order in the inbox; the cursor is the newest file time seen."""
        try:
            files = list(self.inbox.glob("*.xml"))
            newest = max((p.stat().st_mtime_ns for p in files), default=0)
        except OSError as err:
            raise ErpUnavailable(f"cannot read {self.inbox}: {err}") from err
        if cursor is not None and str(newest) == cursor:
            return [], cursor
        orders = await asyncio.to_thread(self._read)
        self.products = {o.erp_id: o.product_code for o in orders}
        return orders, str(newest)

    async def set_status(self, erp_id: str, status: WorkOrderStatus) -> None:
        """Write ``outbox/<id>.status`` with the new state."""
        path = self.outbox / f"{_SAFE.sub('_', erp_id)}.status"
        await asyncio.to_thread(_write_atomic, path, f"{status}\n".encode())

    async def post_confirmation(self, confirmation: Confirmation) -> str:
        """Write the performance document once per idempotency key."""
        path = self.outbox / f"{_SAFE.sub('_', confirmation.idempotency_key)}.xml"
        if path.exists():
            return path.name
        if confirmation.work_order_erp_id not in self.products:
            raise ErpRejected(
                f"work order {confirmation.work_order_erp_id} is not in the ERP's schedule "
                f"({self.inbox})"
            )
        product = self.products[confirmation.work_order_erp_id]
        data = performance_xml(confirmation, product)
        try:
            await asyncio.to_thread(_write_atomic, path, data)
        except OSError as err:
            raise ErpUnavailable(f"cannot write {path}: {err}") from err
        return path.name
