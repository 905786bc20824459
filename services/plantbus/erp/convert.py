"""Between SDK dataclasses (what connectors see) and protobuf messages (what the bus carries)."""

from __future__ import annotations

from plantbus.kit import codec
from plantbus.sdk.connector import Confirmation, WorkOrder
from plantbus.v1 import erp_pb2

__all__ = ["confirmation_from_proto", "workorder_event"]


def workorder_event(order: WorkOrder, connection: str) -> erp_pb2.WorkOrderEvent:
    """The bus form of a work order as the ERP sent it."""
    event = erp_pb2.WorkOrderEvent(
        erp_id=order.erp_id,
        number=order.number,
        connection=connection,
        product_code=order.product_code,
        product_name=order.product_name,
        quantity=order.quantity,
        uom=order.uom,
        status=str(order.status),
        ideal_cycle_time_s=order.ideal_cycle_time_s or 0.0,
    )
    if order.planned_start:
        event.planned_start.CopyFrom(codec.timestamp_of(order.planned_start))
    return event


def confirmation_from_proto(msg: erp_pb2.Confirmation) -> Confirmation:
    """The connector's view of an outbox entry."""
    return codec.as_dataclass(Confirmation, msg)
