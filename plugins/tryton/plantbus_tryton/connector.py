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

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from plantbus.sdk import API_VERSION
from plantbus.sdk.connector import (
    Capabilities,
    Confirmation,
    ErpConnector,
    WorkOrder,
    WorkOrderStatus,
)
from plantbus.sdk.errors import ErpRejected
from plantbus.sdk.plugin import PluginManifest
from plantbus_tryton.records import (
    LEDGER_PREFIX,
    OPEN_STATES,
    PRODUCTION_FIELDS,
    ledger_entry,
    parse_ledger,
    revision,
    work_order,
)
from plantbus_tryton.rpc import TrytonRpc

__all__ = ["TrytonConnector", "TrytonSettings"]

_WORK_FIELDS = ["production", "sequence", "operation.rec_name", "work_center.rec_name", "state"]
_BOOKING_FIELDS = ["rec_name", "state", "product", "unit", "location", "warehouse", "works"]
_BOOKING_FIELDS += [f"outputs.{f}" for f in ("product", "quantity", "to_location", "state")]
"""What booking a confirmation reads of a production, output moves included."""


class TrytonSettings(BaseModel):
    """Where the Tryton server is and which productions belong to this connection."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://", description="trytond base URL, without /<db>/rpc/")
    database: str = Field(min_length=1)
    user: str = "admin"
    password: SecretStr
    work_center: str | None = None
    """Only productions on this Tryton work center (its name); all when unset."""
    scrap_location: str | None = None
    """Code or name of the waste location for scrap; default: the warehouse's first."""
    timeout_s: float = Field(default=10.0, gt=0)


class TrytonConnector(ErpConnector[TrytonSettings]):
    """JSON-RPC to trytond; see the module docstring for how confirmations are booked."""

    manifest = PluginManifest("tryton", "0.1.0", API_VERSION, "Tryton ERP over JSON-RPC")
    Settings = TrytonSettings
    capabilities = Capabilities(status_updates=True, confirmations=True, operations=True)

    def __init__(self, settings: TrytonSettings) -> None:
        super().__init__(settings)
        self._scrap_at: dict[int, int] = {}
        self._cycles: dict[int, int] = {}
        """The running cycle booked on each work, once known."""
        self.rpc = TrytonRpc(
            settings.url,
            settings.database,
            settings.user,
            settings.password.get_secret_value(),
            settings.timeout_s,
        )

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

    async def _ledger(self, production: int) -> tuple[set[str], int]:
        notes = await self.rpc.call(
            "ir.note",
            "search_read",
            [
                ["resource", "=", f"production,{production}"],
                ["message", "like", f"{LEDGER_PREFIX} %"],
            ],
            0,
            None,
            None,
            ["message"],
        )
        return parse_ledger([n["message"] for n in notes])

    async def _scrap_location(self, warehouse: int, needed: bool) -> int | None:
        """Where scrap goes; None when there is none and no scrap to book (a plant that
        books no scrap needs no waste location)."""
        if warehouse not in self._scrap_at:
            found = await self._find_scrap_location(warehouse)
            if found is None:
                if needed:
                    raise ErpRejected(
                        "the production's warehouse has no waste location in Tryton: add a "
                        "lost and found location to its waste locations, or set scrap_location"
                    )
                return None
            self._scrap_at[warehouse] = found
        return self._scrap_at[warehouse]

    async def _find_scrap_location(self, warehouse: int) -> int | None:
        if self.settings.scrap_location:
            wanted = self.settings.scrap_location
            rows = await self.rpc.call(
                "stock.location",
                "search",
                ["OR", ["code", "=", wanted], ["name", "=", wanted]],
                0,
                1,
                None,
            )
            if not rows:
                raise ErpRejected(f"Tryton has no location {wanted!r} (scrap_location)")
            return int(rows[0])
        [row] = await self.rpc.call("stock.location", "read", [warehouse], ["waste_locations"])
        return int(row["waste_locations"][0]) if row["waste_locations"] else None

    async def _book_quantities(self, production: dict[str, Any], c: Confirmation) -> None:
        moves = production["outputs."]
        product = production["product"]
        scrap_at = await self._scrap_location(production["warehouse"], c.total_scrap > 0)
        mine = [m for m in moves if m["product"] == product and m["state"] != "cancelled"]
        good = [m for m in mine if m["to_location"] != scrap_at]
        scrap = [m for m in mine if m["to_location"] == scrap_at]
        if not good:
            raise ErpRejected(
                f"production {production['rec_name']} has no output move for its product"
            )
        for moves_to, total in ((good, c.total_good), (scrap, c.total_scrap)):
            if moves_to and moves_to[0]["quantity"] != total:
                await self.rpc.call("stock.move", "write", [moves_to[0]["id"]], {"quantity": total})
        if not scrap and c.total_scrap > 0:
            company = self.rpc.context.get("company")
            await self.rpc.call(
                "stock.move",
                "create",
                [
                    {
                        "production_output": production["id"],
                        "product": product,
                        "unit": production["unit"],
                        "quantity": c.total_scrap,
                        "from_location": production["location"],
                        "to_location": scrap_at,
                        "company": company,
                    }
                ],
            )

    async def _book_time(self, production: dict[str, Any], c: Confirmation) -> None:
        works = production["works"]
        if not works:
            return  # no routing: nothing to put time on
        work = int(c.operation_erp_id) if c.operation_erp_id.isdigit() else min(works)
        running = [self._cycles[work]] if work in self._cycles else await self._cycles_of(work)
        if not running:
            return  # finished earlier: the time is final
        duration = dt.timedelta(seconds=round(c.run_seconds, 3))
        try:
            await self.rpc.call("production.work.cycle", "write", running, {"duration": duration})
            if c.final:
                await self.rpc.call("production.work.cycle", "do", running)
        except ErpRejected:
            self._cycles.pop(work, None)  # changed in Tryton meanwhile: look again next time
            raise
        if c.final:
            self._cycles.pop(work, None)
        else:
            self._cycles[work] = running[0]

    async def _cycles_of(self, work: int) -> list[int]:
        """The work's running cycle, started when it has none yet; [] when it has a done one."""
        cycles = await self.rpc.call(
            "production.work.cycle",
            "search_read",
            [["work", "=", work], ["state", "in", ["running", "done"]]],
            0,
            None,
            [["id", "ASC"]],
            ["state"],
        )
        if not cycles:
            [cycle] = await self.rpc.call("production.work.cycle", "create", [{"work": work}])
            await self.rpc.call("production.work.cycle", "run", [cycle])
            return [int(cycle)]
        return [int(row["id"]) for row in cycles if row["state"] == "running"]

    async def post_confirmation(self, confirmation: Confirmation) -> str:
        """Book the order's totals once per key; see the module docstring."""
        c = confirmation
        production = await self._production(c.work_order_erp_id)
        ident, name = production["id"], production["rec_name"]
        keys, highest = await self._ledger(ident)
        reference = f"production {ident}"
        if c.idempotency_key in keys:
            return reference
        if c.sequence and c.sequence < highest:
            await self._note(ident, c, "superseded by a later confirmation, nothing booked")
            return reference
        state = production["state"]
        if state == "done" and not c.final:
            raise ErpRejected(f"production {name} is done in Tryton; its quantities are final")
        if state != "done":
            await self._run(production)
            await self._book_quantities(production, c)
            await self._book_time(production, c)
            if c.final:
                await self.rpc.call("production", "do", [ident])
        await self._note(ident, c, self._summary(c))
        return reference

    @staticmethod
    def _summary(c: Confirmation) -> str:
        return (
            f"good {c.total_good:g}, scrap {c.total_scrap:g} in total, run "
            f"{c.run_seconds:.0f} s, down {c.downtime_seconds:.0f} s, on {c.machine}"
            + (", final" if c.final else "")
        )

    async def _note(self, production: int, c: Confirmation, text: str) -> None:
        await self.rpc.call(
            "ir.note",
            "create",
            [
                {
                    "resource": f"production,{production}",
                    "message": ledger_entry(c.idempotency_key, c.sequence, text),
                }
            ],
        )
