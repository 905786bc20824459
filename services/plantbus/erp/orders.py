"""Work orders as the hub keeps them: what of an order the ERP sends again is taken, and
the demo's next move. Pure: no bus, no ERP."""

from __future__ import annotations

from collections.abc import Iterable

from plantbus.v1 import erp_pb2

__all__ = ["CLOSED", "demo_moves", "merged"]

CLOSED = frozenset({"cancelled", "completed"})
"""Order states after which the hub takes no more parts for it."""

_FROM_ERP = ("number", "quantity", "product_code")
"""What the ERP may change of an order the hub knows."""


def merged(
    known: erp_pb2.WorkOrderEvent | None, event: erp_pb2.WorkOrderEvent
) -> erp_pb2.WorkOrderEvent | None:
    """The order to keep when the ERP sends ``event`` and the hub knows ``known``; None
    when nothing changed (or it was closed in the ERP before the hub saw it released).

    The hub keeps its own progress (machine, start, counts) and status, except that an
    order the ERP closed (cancelled, or completed there) is closed here too: the result's
    status then differs from the known one.
    """
    if known is None:
        return None if event.status in CLOSED else event
    closed = event.status in CLOSED and event.status != known.status
    if not closed and all(getattr(known, f) == getattr(event, f) for f in _FROM_ERP):
        return None
    if not closed:
        event.status = known.status
    event.machine = known.machine
    event.started.CopyFrom(known.started)
    event.produced, event.good_quantity = known.produced, known.good_quantity
    event.scrap_quantity = known.scrap_quantity
    return event


def demo_moves(
    orders: Iterable[erp_pb2.WorkOrderEvent], connection: str, machine: str
) -> tuple[list[str], str | None]:
    """Demo only, keeping ``machine`` busy: the orders running there that reached their
    quantity (to complete), and when none runs there the first released one (to start)."""
    mine = [o for o in orders if o.connection == connection]
    running = [o for o in mine if o.status == "running" and o.machine == machine]
    done = [o.erp_id for o in running if o.good_quantity >= o.quantity]
    released = sorted(o.erp_id for o in mine if o.status == "released")
    return done, (released[0] if released and not running else None)
