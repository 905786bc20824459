"""What Tryton holds for a production, read back over JSON-RPC: for tests and checks
that confirmations landed (output quantities, state, the confirmation ledger), and the
tasks that maintenance requests filed under a project."""

from __future__ import annotations

from typing import Any

from plantbus_tryton.rpc import TrytonRpc

__all__ = ["ledger", "outputs", "project_tasks", "state"]


async def outputs(rpc: TrytonRpc, production: int) -> dict[str, float]:
    """Output quantities by destination type: ``storage`` (good), ``lost_found`` (scrap)."""
    moves = await rpc.call(
        "stock.move",
        "search_read",
        [["production_output", "=", production]],
        0,
        None,
        None,
        ["quantity", "to_location.type"],
    )
    return {m["to_location."]["type"]: m["quantity"] for m in moves}


async def state(rpc: TrytonRpc, production: int) -> str:
    """The production's state (waiting, assigned, running, done, cancelled...)."""
    [row] = await rpc.call("production", "read", [production], ["state"])
    return str(row["state"])


async def ledger(rpc: TrytonRpc, production: int) -> list[str]:
    """The production's notes, oldest first (the connector's confirmation ledger)."""
    notes = await rpc.call(
        "ir.note",
        "search_read",
        [["resource", "=", f"production,{production}"]],
        0,
        None,
        [["id", "ASC"]],
        ["message"],
    )
    return [str(n["message"]) for n in notes]


async def project_tasks(rpc: TrytonRpc, project: int) -> list[dict[str, Any]]:
    """The works under ``project``: name, type, comment, number, company."""
    fields = ["name", "type", "comment", "number", "company"]
    rows = await rpc.call(
        "project.work", "search_read", [["parent", "=", project]], 0, None, None, fields
    )
    return list(rows)
