"""The ERP connector interface (entry-point group ``plantbus.erp_connectors``).

A connector speaks one ERP's API. The ERP sync service owns polling, the outbox,
retries with back-off and dead letters; a connector only maps ISA-95 objects to its
ERP's records (see docs/erp.md and the contract in the domain notes).
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from datetime import datetime

from plantbus.sdk.plugin import Plugin, SettingsT

__all__ = [
    "Confirmation",
    "ErpConnector",
    "Operation",
    "WorkOrder",
    "WorkOrderStatus",
]


class WorkOrderStatus(enum.StrEnum):
    """ISA-95 request states as Plantbus tracks them."""

    PLANNED = "planned"
    RELEASED = "released"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Operation:
    """One routing step of a work order (Tryton: production.work)."""

    erp_id: str
    sequence: int
    name: str
    work_center: str = ""


@dataclass(frozen=True)
class WorkOrder:
    """A production order as received from the ERP."""

    erp_id: str
    number: str
    product_code: str
    product_name: str
    quantity: float
    uom: str = "unit"
    status: WorkOrderStatus = WorkOrderStatus.RELEASED
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    ideal_cycle_time_s: float | None = None
    operations: tuple[Operation, ...] = ()
    erp_revision: str = ""


@dataclass(frozen=True)
class Confirmation:
    """Production reported back to the ERP; ``idempotency_key`` makes re-sends harmless.

    ``good_quantity``/``scrap_quantity`` are what was made since the previous confirmation
    (for ERPs that add up postings); ``total_good``/``total_scrap`` are the running totals
    (for ERPs, like Tryton, where a connector overwrites a quantity).
    """

    idempotency_key: str
    work_order_erp_id: str
    good_quantity: float
    scrap_quantity: float
    start: datetime
    end: datetime
    machine: str
    run_seconds: float = 0.0
    """The order's production time so far (not only this period's)."""
    downtime_seconds: float = 0.0
    """The order's unplanned downtime so far."""
    operation_erp_id: str = ""
    final: bool = False
    """True when the order is done with this confirmation."""
    sequence: int = 0
    """1, 2, 3... per order; lets a connector that books totals skip stale re-sends."""
    total_good: float = 0.0
    """Good parts of the whole order up to this confirmation."""
    total_scrap: float = 0.0
    """Scrapped parts of the whole order up to this confirmation."""


class ErpConnector(Plugin[SettingsT], abc.ABC):
    """Base class of ERP connectors; one instance per configured ERP connection.

    Errors: raise :class:`~plantbus.sdk.errors.ErpUnavailable` when the ERP cannot be
    reached (the outbox retries) and :class:`~plantbus.sdk.errors.ErpRejected` with the
    ERP's own message when it refuses a request (the confirmation is dead-lettered).
    """

    def __init__(self, settings: SettingsT) -> None:
        """Store validated settings. Must not perform I/O."""
        self.settings = settings

    async def open(self) -> None:
        """Log in or open sessions; called before the first request."""

    async def close(self) -> None:
        """Release sessions; safe to call twice."""

    @abc.abstractmethod
    async def list_work_orders(self, cursor: str | None) -> tuple[list[WorkOrder], str]:
        """Work orders changed since ``cursor`` (None or "": all open ones) and the next cursor."""

    @abc.abstractmethod
    async def set_status(self, erp_id: str, status: WorkOrderStatus) -> None:
        """Move a work order to running or completed in the ERP."""

    @abc.abstractmethod
    async def post_confirmation(self, confirmation: Confirmation) -> str:
        """Book a confirmation once per idempotency key; return the ERP's reference.

        Posting a key that was already booked returns the earlier reference and books nothing.
        """

    async def seed_demo(self) -> None:
        """Give an empty demo ERP a few work orders (``plantbus up`` only); default: none."""
