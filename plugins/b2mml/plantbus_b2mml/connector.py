"""The B2MML connector: an ERP exchange through watched directories, no ERP server needed.

ERPs, MES bridges and integration platforms almost all export and import ISA-95 B2MML,
so a pair of directories (a file share, an SFTP drop) connects Plantbus to them without
code. Work orders are read from ``inbox/*.xml`` (B2MML V0700 OperationsSchedule); each
confirmation is written atomically as ``outbox/<idempotency key>.xml``
(OperationsPerformance), so a re-sent confirmation finds its file and writes nothing twice.

A file that cannot be used (not XML, a DTD, not a V0700 schedule, a request without a
quantity...) is moved to ``inbox/rejected/`` with a ``.reason`` file beside it and logged
once; the other files are read as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from plantbus.sdk import API_VERSION
from plantbus.sdk.connector import (
    Confirmation,
    ErpConnector,
    WorkOrder,
    WorkOrderStatus,
)
from plantbus.sdk.errors import ErpRejected, ErpUnavailable
from plantbus.sdk.plugin import PluginManifest
from plantbus_b2mml.schedule import parse_schedule, performance_xml, schedule_xml

__all__ = ["REJECTED", "B2mmlConnector", "B2mmlSettings"]

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.=-]")
REJECTED = "rejected"
"""The folder in the inbox where unusable files are moved, each with a ``.reason`` file."""


class B2mmlSettings(BaseModel):
    """The exchange directories (created when missing)."""

    model_config = ConfigDict(extra="forbid")
    inbox: Path
    outbox: Path
    max_file_mb: float = Field(default=32.0, gt=0)
    """A schedule file larger than this is rejected unread."""


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _stamp(name: str, st: os.stat_result) -> str:
    """Name, change time and size: differs whenever the file is replaced or rewritten."""
    return f"{name}\0{st.st_mtime_ns}\0{st.st_size}"


def _fingerprint(files: list[Path]) -> str:
    """Changes whenever a schedule file is added, removed, rewritten or touched."""
    digest = hashlib.sha256()
    for path in sorted(files):
        with contextlib.suppress(FileNotFoundError):  # taken away since the listing
            digest.update(_stamp(path.name, path.stat()).encode() + b"\n")
    return digest.hexdigest()[:32]


class B2mmlConnector(ErpConnector[B2mmlSettings]):
    """OperationsSchedule files in, OperationsPerformance files out."""

    manifest = PluginManifest("b2mml", "0.2.0", API_VERSION, "ISA-95 B2MML V0700 files")
    Settings = B2mmlSettings

    def __init__(self, settings: B2mmlSettings) -> None:
        super().__init__(settings)
        self.inbox, self.outbox = settings.inbox, settings.outbox
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)
        self.orders: dict[str, WorkOrder] = {}
        """The orders of the last poll by ERP id: what confirmations are checked against."""
        self._unmovable: set[str] = set()
        """Rejected files that could not be moved aside (fingerprints), reported once."""

    async def open(self) -> None:
        """Create the directories; ErpUnavailable when they cannot be used."""
        try:
            self.inbox.mkdir(parents=True, exist_ok=True)
            self.outbox.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ErpUnavailable(f"B2MML exchange directory unusable: {err}") from err

    async def seed_demo(self) -> None:
        """Drop a demo OperationsSchedule with two orders into an inbox that has none."""
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

    def _orders_of(self, path: Path, st: os.stat_result) -> list[WorkOrder]:
        """The orders of one file; ErpRejected when the file cannot be used."""
        if st.st_size > self.max_bytes:
            raise ErpRejected(
                f"{path.name}: {st.st_size} bytes, more than max_file_mb ({self.max_bytes} bytes)"
            )
        return parse_schedule(path.read_bytes(), path.name)

    def _reject(self, path: Path, stamp: str, reason: str) -> None:
        """Move a file that cannot be used aside with its reason, and say so once."""
        aside = self.inbox / REJECTED / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{path.name}"
        try:
            aside.parent.mkdir(exist_ok=True)
            aside.with_name(aside.name + ".reason").write_text(reason + "\n")
            os.replace(path, aside)
        except FileNotFoundError:
            return  # taken away by the ERP meanwhile
        except OSError as err:
            self._unmovable.add(stamp)
            log.error(
                "B2MML file %s rejected: %s; it cannot be moved to %s (%s), so it is "
                "skipped until it changes",
                path,
                reason,
                aside.parent,
                err,
            )
            return
        log.error("B2MML file %s rejected, moved to %s: %s", path, aside, reason)

    def _read(self, files: list[Path]) -> list[WorkOrder]:
        orders: list[WorkOrder] = []
        for path in sorted(files):
            try:
                st = path.stat()
                if _stamp(path.name, st) not in self._unmovable:
                    orders += self._orders_of(path, st)
            except FileNotFoundError:
                continue  # taken away by the ERP since the listing
            except ErpRejected as err:
                self._reject(path, _stamp(path.name, st), str(err))
            except OSError as err:
                raise ErpUnavailable(f"cannot read {path}: {err}") from err
        return orders

    async def list_work_orders(self, cursor: str | None) -> tuple[list[WorkOrder], str]:
        """Every order in the inbox when any file changed; the cursor fingerprints the files."""
        if not self.inbox.is_dir():  # an unmounted share must not look like an empty schedule
            raise ErpUnavailable(f"B2MML inbox {self.inbox} is not a directory (or is gone)")
        try:
            files = list(self.inbox.glob("*.xml"))
            fingerprint = await asyncio.to_thread(_fingerprint, files)
        except OSError as err:
            raise ErpUnavailable(f"cannot read {self.inbox}: {err}") from err
        if cursor is not None and fingerprint == cursor:
            return [], cursor
        orders = await asyncio.to_thread(self._read, files)
        self.orders = {o.erp_id: o for o in orders}
        return orders, fingerprint

    async def set_status(self, erp_id: str, status: WorkOrderStatus) -> None:
        """Write ``outbox/<id>.status`` with the new state."""
        path = self.outbox / f"{_SAFE.sub('_', erp_id)}.status"
        try:
            await asyncio.to_thread(_write_atomic, path, f"{status}\n".encode())
        except OSError as err:
            raise ErpUnavailable(f"cannot write {path}: {err}") from err

    async def post_confirmation(self, confirmation: Confirmation) -> str:
        """Write the performance document once per idempotency key."""
        path = self.outbox / f"{_SAFE.sub('_', confirmation.idempotency_key)}.xml"
        if path.exists():
            return path.name
        order = self.orders.get(confirmation.work_order_erp_id)
        if order is None:
            raise ErpRejected(
                f"work order {confirmation.work_order_erp_id} is not in the ERP's schedule "
                f"({self.inbox})"
            )
        data = performance_xml(confirmation, order)
        try:
            await asyncio.to_thread(_write_atomic, path, data)
        except OSError as err:
            raise ErpUnavailable(f"cannot write {path}: {err}") from err
        return path.name
