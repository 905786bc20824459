"""The B2MML connector passes the Plantbus connector conformance kit, against its real
peer: a pair of exchange directories in a temporary folder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from plantbus_b2mml.connector import B2mmlConnector
from plantbus_b2mml.readback import booked
from plantbus_b2mml.schedule import schedule_xml

from plantbus.sdk.connector import WorkOrder
from plantbus.testing.connector_kit import ConformanceErp, ConnectorConformance


class FileErp:
    """An ERP that exchanges B2MML files; "down" is its share gone (a file in its place)."""

    def __init__(self, root: Path) -> None:
        self.inbox, self.outbox = root / "inbox", root / "outbox"
        self.inbox.mkdir()

    @property
    def settings(self) -> dict[str, Any]:
        return {"inbox": str(self.inbox), "outbox": str(self.outbox)}

    @property
    def unknown_order(self) -> str:
        return "NO-SUCH-ORDER"

    async def release(self, reference: str, quantity: float) -> str:
        order = WorkOrder(reference, reference, "SHAFT-20", "Drive shaft", quantity, uom="pcs")
        (self.inbox / f"{reference}.xml").write_bytes(schedule_xml([order], reference))
        return reference

    async def booked(self, erp_id: str) -> tuple[float, float]:
        return booked(self.outbox, erp_id)

    async def stop(self) -> None:
        for folder in (self.inbox, self.outbox):
            os.replace(folder, folder.with_name(folder.name + ".away"))
            folder.write_text("the share is not mounted")

    async def start(self) -> None:
        for folder in (self.inbox, self.outbox):
            folder.unlink()
            os.replace(folder.with_name(folder.name + ".away"), folder)


class TestB2mmlConnector(ConnectorConformance):
    connector_class = B2mmlConnector

    @pytest.fixture
    async def conformance_erp(self, tmp_path: Path) -> AsyncIterator[ConformanceErp]:
        yield FileErp(tmp_path)
