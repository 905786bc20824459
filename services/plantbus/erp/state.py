"""What the ERP service keeps in its KV bucket (``plantbus_erp``): each order as it was
last published (``order.<id>``) and what was confirmed of it (``order.<id>.confirmed``:
the last number, the totals it confirmed and the confirmation itself), so that the replica
that takes a connection goes on where the last one stopped."""

from __future__ import annotations

import json
from typing import Any

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from plantbus.kit import kv_keys
from plantbus.kit.bus import kv_key
from plantbus.v1 import erp_pb2

__all__ = ["load_orders", "order_key", "save_confirmed", "saved_confirmed"]


def order_key(erp_id: str) -> str:
    """The order's key in the bucket."""
    return "order." + kv_key(erp_id).replace(".", "_")


async def load_orders(kv: KeyValue, connections: set[str]) -> list[erp_pb2.WorkOrderEvent]:
    """The orders of ``connections`` as the last holder saved them."""
    out = []
    for key in await kv_keys.keys(kv):
        if not key.startswith("order.") or key.endswith(".confirmed"):
            continue
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # deleted since the listing
            continue
        if entry.value:
            saved = erp_pb2.WorkOrderEvent.FromString(entry.value)
            if saved.connection in connections:
                out.append(saved)
    return out


async def saved_confirmed(kv: KeyValue, erp_id: str) -> dict[str, Any]:
    """What was confirmed of an order: ``n``, ``good``, ``scrap`` and ``last`` (hex)."""
    try:
        entry = await kv.get(order_key(erp_id) + ".confirmed")
    except KeyNotFoundError:
        return {"n": 0, "good": 0.0, "scrap": 0.0, "last": ""}
    return dict(json.loads(entry.value or b"{}"))


async def save_confirmed(kv: KeyValue, confirmation: erp_pb2.Confirmation) -> None:
    """Keep ``confirmation`` as the last of its order, with the totals it confirms."""
    doc = {
        "n": confirmation.sequence,
        "good": confirmation.total_good,
        "scrap": confirmation.total_scrap,
        "last": confirmation.SerializeToString().hex(),
    }
    await kv.put(order_key(confirmation.work_order_erp_id) + ".confirmed", json.dumps(doc).encode())
