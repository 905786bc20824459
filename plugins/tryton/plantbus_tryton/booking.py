"""Booking a confirmation in Tryton: output quantities, work-cycle time, and the note
(``ir.note``) that serves as the ledger of booked confirmation keys (see the connector's
module docstring for the model)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from plantbus.sdk.connector import Confirmation
from plantbus.sdk.errors import ErpRejected
from plantbus_tryton.records import LEDGER_PREFIX, ledger_entry, parse_ledger
from plantbus_tryton.rpc import TrytonRpc

__all__ = ["Books", "summary"]


class Books:
    """The bookings of one Tryton connection, with what it learnt of Tryton cached."""

    def __init__(self, rpc: TrytonRpc, scrap_location: str | None) -> None:
        self.rpc = rpc
        self.scrap_location = scrap_location
        self._scrap_at: dict[int, int] = {}
        self._cycles: dict[int, int] = {}
        """The running cycle booked on each work, once known."""

    async def ledger(self, production: int) -> tuple[set[str], int]:
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
        if self.scrap_location:
            wanted = self.scrap_location
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

    async def quantities(self, production: dict[str, Any], c: Confirmation) -> None:
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

    async def time(self, production: dict[str, Any], c: Confirmation) -> None:
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

    async def note(self, production: int, c: Confirmation, text: str) -> None:
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


def summary(c: Confirmation) -> str:
    """What a confirmation booked, in the words of the note on the production."""
    return (
        f"good {c.total_good:g}, scrap {c.total_scrap:g} in total, run "
        f"{c.run_seconds:.0f} s, down {c.downtime_seconds:.0f} s, on {c.machine}"
        + (", final" if c.final else "")
    )
