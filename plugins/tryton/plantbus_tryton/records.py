"""Tryton records to ISA-95 objects: states and work orders."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from plantbus.sdk.connector import Operation, WorkOrder, WorkOrderStatus

__all__ = [
    "LEDGER_PREFIX",
    "OPEN_STATES",
    "PRODUCTION_FIELDS",
    "ledger_entry",
    "parse_ledger",
    "work_order",
]

OPEN_STATES = ("waiting", "assigned", "running")
"""Productions released to the shop floor (draft and request ones are not yet)."""

STATUS = {
    "waiting": WorkOrderStatus.RELEASED,
    "assigned": WorkOrderStatus.RELEASED,
    "running": WorkOrderStatus.RUNNING,
    "done": WorkOrderStatus.COMPLETED,
    "cancelled": WorkOrderStatus.CANCELLED,
}

PRODUCTION_FIELDS = [
    "number",
    "reference",
    "state",
    "quantity",
    "product.code",
    "product.name",
    "unit.symbol",
    "planned_start_date",
    "planned_date",
    "work_center.rec_name",
    "create_date",
    "write_date",
]

LEDGER_PREFIX = "plantbus confirmation"
_LEDGER = re.compile(rf"^{LEDGER_PREFIX} #(\d+) (\S+):")


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), dt.UTC) if day else None


def revision(record: dict[str, Any]) -> dt.datetime:
    """When Tryton last changed the record (its write date, else its create date)."""
    stamp = record.get("write_date") or record["create_date"]
    assert isinstance(stamp, dt.datetime)
    return stamp


def work_order(record: dict[str, Any], works: list[dict[str, Any]]) -> WorkOrder:
    """A ``production`` row (read with PRODUCTION_FIELDS) and its works as a WorkOrder."""
    product = record.get("product.") or {}
    unit = record.get("unit.") or {}
    number = record.get("number") or str(record["id"])
    operations = tuple(
        Operation(
            erp_id=str(w["id"]),
            sequence=int(w.get("sequence") or 0),
            name=(w.get("operation.") or {}).get("rec_name", ""),
            work_center=(w.get("work_center.") or {}).get("rec_name", ""),
        )
        for w in sorted(works, key=lambda w: (w.get("sequence") or 0, w["id"]))
    )
    return WorkOrder(
        erp_id=str(record["id"]),
        number=f"{number} [{record['reference']}]" if record.get("reference") else number,
        product_code=product.get("code") or "",
        product_name=product.get("name") or "",
        quantity=float(record.get("quantity") or 0.0),
        uom=unit.get("symbol") or "unit",
        status=STATUS.get(record["state"], WorkOrderStatus.PLANNED),
        planned_start=_midnight(record.get("planned_start_date")),
        planned_end=_midnight(record.get("planned_date")),
        operations=operations,
        erp_revision=revision(record).isoformat(),
    )


def ledger_entry(key: str, sequence: int, summary: str) -> str:
    """The note text that records a booked confirmation on its production."""
    return f"{LEDGER_PREFIX} #{sequence} {key}: {summary}"


def parse_ledger(messages: list[str]) -> tuple[set[str], int]:
    """Keys booked and the highest sequence among a production's notes."""
    keys: set[str] = set()
    highest = 0
    for message in messages:
        match = _LEDGER.match(message or "")
        if match:
            highest = max(highest, int(match[1]))
            keys.add(match[2])
    return keys, highest
