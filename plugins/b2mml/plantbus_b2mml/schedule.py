"""Reading B2MML ProductionSchedule documents and writing ProductionPerformance ones.

The subset used is what work orders and confirmations need: per ProductionRequest its ID,
description, planned times, the material produced with quantity and unit, and an
optional ``ideal_cycle_time_s`` ProductionParameter; per ProductionResponse the
material actually produced (good) and scrapped, with times.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from defusedxml.ElementTree import fromstring

from plantbus.sdk.connector import Confirmation, WorkOrder, WorkOrderStatus
from plantbus.sdk.errors import ErpRejected

__all__ = ["NS", "parse_schedule", "performance_xml", "schedule_xml"]

NS = "http://www.mesa.org/xml/B2MML"
_Q = f"{{{NS}}}"


def _text(node: ET.Element | None, path: str) -> str:
    found = node.find(path.replace("b:", _Q)) if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def _time(value: str) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def parse_schedule(xml: bytes, source: str) -> list[WorkOrder]:
    """Work orders of one ProductionSchedule; ErpRejected names the file and the problem."""
    try:
        root = fromstring(xml)
    except ET.ParseError as err:
        raise ErpRejected(f"{source}: not well-formed XML: {err}") from err
    if root.tag != f"{_Q}ProductionSchedule":
        raise ErpRejected(f"{source}: expected a B2MML ProductionSchedule, found {root.tag}")
    orders = []
    for request in root.findall(f"{_Q}ProductionRequest"):
        erp_id = _text(request, "b:ID")
        material = request.find(f"{_Q}SegmentRequirement/{_Q}MaterialProducedRequirement")
        quantity = _text(material, "b:Quantity/b:QuantityString")
        if not erp_id or not quantity:
            raise ErpRejected(f"{source}: a ProductionRequest lacks ID or Quantity")
        ict = ""
        for param in request.iter(f"{_Q}ProductionParameter"):
            if _text(param, "b:ID") == "ideal_cycle_time_s":
                ict = _text(param, "b:Value/b:ValueString")
        try:
            orders.append(
                WorkOrder(
                    erp_id=erp_id,
                    number=erp_id,
                    product_code=_text(material, "b:MaterialDefinitionID"),
                    product_name=_text(request, "b:Description"),
                    quantity=float(quantity),
                    uom=_text(material, "b:Quantity/b:UnitOfMeasure") or "unit",
                    status=WorkOrderStatus.RELEASED,
                    planned_start=_time(_text(request, "b:StartTime")),
                    planned_end=_time(_text(request, "b:EndTime")),
                    ideal_cycle_time_s=float(ict) if ict else None,
                    erp_revision=source,
                )
            )
        except ValueError as err:
            raise ErpRejected(f"{source}: request {erp_id}: {err}") from err
    return orders


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, f"{_Q}{tag}")
    if text is not None:
        node.text = text
    return node


def _material(parent: ET.Element, tag: str, product: str, qty: float, kind: str) -> None:
    m = _sub(parent, tag)
    _sub(m, "MaterialDefinitionID", product)
    q = _sub(m, "Quantity")
    _sub(q, "QuantityString", f"{qty:g}")
    _sub(q, "UnitOfMeasure", "unit")
    _sub(m, "MaterialUse", kind)


def performance_xml(c: Confirmation, product: str) -> bytes:
    """A ProductionPerformance document for one confirmation."""
    ET.register_namespace("", NS)
    root = ET.Element(f"{_Q}ProductionPerformance")
    _sub(root, "ID", c.idempotency_key)
    response = _sub(root, "ProductionResponse")
    _sub(response, "ID", c.idempotency_key)
    _sub(response, "ProductionRequestID", c.work_order_erp_id)
    _sub(response, "StartTime", c.start.isoformat())
    _sub(response, "EndTime", c.end.isoformat())
    _sub(response, "ProductionResponseState", "Completed" if c.final else "Running")
    segment = _sub(response, "SegmentResponse")
    _sub(segment, "ID", c.machine)
    _sub(segment, "ActualStartTime", c.start.isoformat())
    _sub(segment, "ActualEndTime", c.end.isoformat())
    _material(segment, "MaterialProducedActual", product, c.good_quantity, "Produced")
    if c.scrap_quantity:
        _material(segment, "MaterialProducedActual", product, c.scrap_quantity, "Scrap")
    return bytes(ET.tostring(root, xml_declaration=True, encoding="utf-8"))


def schedule_xml(orders: list[WorkOrder]) -> bytes:
    """A ProductionSchedule for ``orders`` (used for demos and tests)."""
    ET.register_namespace("", NS)
    root = ET.Element(f"{_Q}ProductionSchedule")
    for order in orders:
        request = _sub(root, "ProductionRequest")
        _sub(request, "ID", order.erp_id)
        _sub(request, "Description", order.product_name)
        if order.planned_start:
            _sub(request, "StartTime", order.planned_start.isoformat())
        segment = _sub(request, "SegmentRequirement")
        produced = _sub(segment, "MaterialProducedRequirement")
        _sub(produced, "MaterialDefinitionID", order.product_code)
        q = _sub(produced, "Quantity")
        _sub(q, "QuantityString", f"{order.quantity:g}")
        _sub(q, "UnitOfMeasure", order.uom)
        if order.ideal_cycle_time_s:
            param = _sub(segment, "ProductionParameter")
            _sub(param, "ID", "ideal_cycle_time_s")
            _sub(_sub(param, "Value"), "ValueString", f"{order.ideal_cycle_time_s:g}")
    return bytes(ET.tostring(root, xml_declaration=True, encoding="utf-8"))
