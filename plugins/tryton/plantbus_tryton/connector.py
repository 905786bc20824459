"""The Tryton connector: productions in, work cycles and output quantities out.

Tryton (8.x, modules production, production_work, production_routing) models a work
order as a ``production`` with one ``production.work`` per routing step. A confirmation
is booked the way Tryton models it:

- good parts: the quantity of the production's output move to storage;
- scrap: an output move to the warehouse's waste (lost and found) location;
- run time: one ``production.work.cycle`` on the operation's work, its duration the
  order's production time so far; the final confirmation finishes the cycle and the
  production (``do``).

Tryton has no field for an external id, so every booking *overwrites* with the order's
totals (booking the same confirmation twice changes nothing) and a note on the
production (``ir.note``) records each confirmation key and its sequence: a key already
there, or an older sequence than one booked, is acknowledged without touching Tryton.
Downtime has no Tryton model; it is written in the note only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from plantbus.sdk import API_VERSION
from plantbus.sdk.connector import (
    Confirmation,
    ErpConnector,
    WorkOrder,
    WorkOrderStatus,
)
from plantbus.sdk.errors import ErpRejected
from plantbus.sdk.plugin import PluginManifest
from plantbus_tryton.booking import Books, summary
from plantbus_tryton.records import (
    OPEN_STATES,
    PRODUCTION_FIELDS,
    revision,
    work_order,
)
from plantbus_tryton.rpc import TrytonConnection

__all__ = ["TrytonConnector", "TrytonSettings"]

_WORK_FIELDS = ["production", "sequence", "operation.rec_name", "work_center.rec_name", "state"]
_BOOKING_FIELDS = ["rec_name", "state", "product", "unit", "location", "warehouse", "works"]
_BOOKING_FIELDS += [f"outputs.{f}" for f in ("product", "quantity", "to_location", "state")]
"""What booking a confirmation reads of a production, output moves included."""


class TrytonSettings(TrytonConnection):
    """Where the Tryton server is and which productions belong to this connection."""

    work_center: str | None = None
    """Only productions on this Tryton work center (its name); all when unset."""
    scrap_location: str | None = None
    """Code or name of the waste location for scrap; default: the warehouse's first."""


class TrytonConnector(ErpConnector[TrytonSettings]):
    """JSON-RPC to trytond; see the module docstring for how confirmations are booked."""

    manifest = PluginManifest("tryton", "0.1.0", API_VERSION, "Tryton ERP over JSON-RPC")
    Settings = TrytonSettings

    def __init__(self, settings: TrytonSettings) -> None:
        super().__init__(settings)
        self.rpc = settings.rpc()
        self.books = Books(self.rpc, settings.scrap_location)

    async def open(self) -> None:
        """Log in (ErpUnavailable while Tryton is down or refuses the login)."""
        await self.rpc.login()

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.rpc.close()

    # -- work orders in -------------------------------------------------------------

    async def list_work_orders(self, cursor: str | None) -> tuple[list[WorkOrder], str]:
        """Released productions (all at first, then those changed since ``cursor``).

        The cursor is Tryton's own newest change time, so clocks never disagree; the
        comparison is ``>=`` so a change in the same instant as the cursor is not missed
        (the service ignores an order it already has unchanged). Until a first order is
        seen there is no cursor, so closed productions of the past are never fetched.
        """
        domain: list[Any] = [["state", "in", [*OPEN_STATES, "done", "cancelled"]]]
        if not cursor:
            domain = [["state", "in", list(OPEN_STATES)]]
        else:
            since = dt.datetime.fromisoformat(cursor)
            domain.append(["OR", ["write_date", ">=", since], ["create_date", ">=", since]])
        if self.settings.work_center:
            domain.append(["work_center.name", "=", self.settings.work_center])
        records: list[dict[str, Any]] = await self.rpc.call(
            "production", "search_read", domain, 0, None, [["id", "ASC"]], PRODUCTION_FIELDS
        )
        works: dict[int, list[dict[str, Any]]] = {}
        if records:
            rows = await self.rpc.call(
                "production.work",
                "search_read",
                [["production", "in", [r["id"] for r in records]]],
                0,
                None,
                None,
                _WORK_FIELDS,
            )
            for row in rows:
                works.setdefault(row["production"], []).append(row)
        orders = [work_order(r, works.get(r["id"], [])) for r in records]
        newest = max((revision(r) for r in records), default=None)
        return orders, newest.isoformat() if newest else (cursor or "")

    # -- status ---------------------------------------------------------------------

    async def _production(self, erp_id: str) -> dict[str, Any]:
        try:
            ident = int(erp_id)
        except ValueError:
            raise ErpRejected(f"{erp_id!r} is not a Tryton production id") from None
        rows = await self.rpc.call("production", "read", [ident], _BOOKING_FIELDS)
        if not rows:
            raise ErpRejected(f"Tryton has no production {erp_id}")
        return dict(rows[0])

    async def _run(self, production: dict[str, Any]) -> None:
        """Bring a released production to running (reserving its inputs)."""
        ident, name = production["id"], production["rec_name"]
        if production["state"] == "waiting":
            await self.rpc.call("production", "assign_try", [ident])
            [row] = await self.rpc.call("production", "read", [ident], ["state"])
            if row["state"] != "assigned":
                raise ErpRejected(
                    f"Tryton could not reserve the inputs of production {name}; "
                    "assign it in Tryton, then start it again"
                )
        if production["state"] in ("waiting", "assigned"):
            await self.rpc.call("production", "run", [ident])
        elif production["state"] != "running":
            raise ErpRejected(f"production {name} is {production['state']} in Tryton")

    async def set_status(self, erp_id: str, status: WorkOrderStatus) -> None:
        """Running: assign and run the production. Completed: nothing here, because the
        final confirmation finishes it once its quantities are booked."""
        if status == WorkOrderStatus.RUNNING:
            await self._run(await self._production(erp_id))

    # -- confirmations out ----------------------------------------------------------

    async def post_confirmation(self, confirmation: Confirmation) -> str:
        """Book the order's totals once per key; see the module docstring."""
        c = confirmation
        production = await self._production(c.work_order_erp_id)
        ident, name = production["id"], production["rec_name"]
        keys, highest = await self.books.ledger(ident)
        reference = f"production {ident}"
        if c.idempotency_key in keys:
            return reference
        if c.sequence and c.sequence < highest:
            await self.books.note(ident, c, "superseded by a later confirmation, nothing booked")
            return reference
        state = production["state"]
        if state == "done" and not c.final:
            raise ErpRejected(f"production {name} is done in Tryton; its quantities are final")
        if state != "done":
            await self._run(production)
            await self.books.quantities(production, c)
            await self.books.time(production, c)
            if c.final:
                await self.rpc.call("production", "do", [ident])
        await self.books.note(ident, c, summary(c))
        return reference
