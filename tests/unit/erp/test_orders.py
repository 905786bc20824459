"""What the hub takes of an order the ERP sends again, and the demo's moves."""

from __future__ import annotations

from typing import Any

from plantbus.erp.orders import demo_moves, merged
from plantbus.kit import codec
from plantbus.v1 import erp_pb2

M1 = "s/machining/l/m1"


def order(erp_id: str = "WO-1", status: str = "released", **fields: Any) -> erp_pb2.WorkOrderEvent:
    base: dict[str, Any] = {"number": erp_id, "connection": "erp1", "product_code": "SHAFT"}
    base["quantity"] = 10
    return erp_pb2.WorkOrderEvent(erp_id=erp_id, status=status, **(base | fields))


def running() -> erp_pb2.WorkOrderEvent:
    known = order(status="running", machine=M1, good_quantity=4, scrap_quantity=1, produced=5)
    known.started.CopyFrom(codec.timestamp(1000.0))
    return known


def test_a_new_order_is_taken_unless_the_erp_closed_it_already() -> None:
    assert merged(None, order()) == order()
    assert merged(None, order(status="cancelled")) is None
    assert merged(None, order(status="completed")) is None


def test_an_order_sent_again_unchanged_is_nothing_new() -> None:
    assert merged(running(), order()) is None


def test_a_changed_order_keeps_the_hubs_progress_and_status() -> None:
    taken = merged(running(), order(quantity=12))
    assert taken is not None
    assert (taken.quantity, taken.status, taken.machine) == (12, "running", M1)
    assert (taken.good_quantity, taken.scrap_quantity, taken.produced) == (4, 1, 5)
    assert taken.started.seconds == 1000


def test_an_order_closed_in_the_erp_is_closed_here_with_the_hubs_counts() -> None:
    taken = merged(running(), order(status="cancelled"))
    assert taken is not None and taken.status == "cancelled" and taken.good_quantity == 4
    assert merged(order(status="cancelled"), order(status="cancelled")) is None


def test_the_demo_completes_what_reached_its_quantity_then_starts_the_first_released() -> None:
    done = order("WO-1", "running", machine=M1, good_quantity=10)
    busy = order("WO-2", "running", machine=M1, good_quantity=3)
    other = order("WO-0", "released")
    other.connection = "erp2"
    released = [order("WO-4"), order("WO-3"), other]
    assert demo_moves([done, *released], "erp1", M1) == (["WO-1"], None)
    assert demo_moves([busy, *released], "erp1", M1) == ([], None)
    assert demo_moves(released, "erp1", M1) == ([], "WO-3")
    assert demo_moves([other], "erp1", M1) == ([], None)
