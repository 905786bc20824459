"""Reading B2MML V0700 OperationsSchedule documents and writing OperationsPerformance ones.

B2MML V0700 is MESA's XML form of ISA-95 (2018), namespace ``http://www.mesa.org/xml/B2MML``;
since V0600 its "Production*" objects are "Operations*" with ``OperationsType``
Production. The subset used is what work orders and confirmations need: per
OperationsRequest its ID, description, planned times, request state, the material it
produces (the MaterialRequirement with MaterialUse Produced: definition, quantity, unit)
and an optional ``ideal_cycle_time_s`` SegmentParameter; per OperationsResponse the
material made (MaterialUse Produced for good parts, Other/"Scrap" for scrap) in the
order's own unit, the times, the machine (EquipmentActual) and the order's run and down
time so far (SegmentData, seconds).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import fromstring

from plantbus.sdk.connector import Confirmation, WorkOrder, WorkOrderStatus
from plantbus.sdk.errors import ErpRejected

__all__ = ["NS", "SCRAP", "parse_schedule", "performance_xml", "schedule_xml"]

NS = "http://www.mesa.org/xml/B2MML"
_Q = f"{{{NS}}}"
SCRAP = "Scrap"
"""The ``OtherValue`` of scrapped material (MaterialUse has no value of its own for it)."""

_STATES = {
    "Forecast": WorkOrderStatus.PLANNED,
    "Running": WorkOrderStatus.RUNNING,
    "Completed": WorkOrderStatus.COMPLETED,
    "Closed": WorkOrderStatus.COMPLETED,
    "Cancelled": WorkOrderStatus.CANCELLED,
    "Aborted": WorkOrderStatus.CANCELLED,
}
"""RequestState to work-order status; any other state (Released, Ready, Held...) is released."""


def _text(node: ET.Element | None, path: str) -> str:
    found = node.find(path.replace("b:", _Q)) if node is not None else None
    return (found.text or "").strip() if found is not None else ""


def _time(value: str) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _root(xml: bytes, source: str) -> ET.Element:
    """The document element; ErpRejected for anything that is not plain, well-formed XML."""
    try:
        root: ET.Element = fromstring(xml, forbid_dtd=True)
    except DTDForbidden as err:
        raise ErpRejected(
            f"{source}: declares a DTD (<!DOCTYPE {err.name}>); B2MML files need none and a "
            "DTD can expand entities or fetch external files, so it is refused"
        ) from err
    except DefusedXmlException as err:
        raise ErpRejected(f"{source}: refused, unsafe XML: {err}") from err
    except ET.ParseError as err:
        raise ErpRejected(f"{source}: not well-formed XML: {err}") from err
    if root.tag == f"{_Q}ProductionSchedule" or root.tag.endswith("}ProductionSchedule"):
        raise ErpRejected(
            f"{source}: a ProductionSchedule (B2MML V0500 or older); this connector reads "
            "B2MML V0700, where it is an OperationsSchedule of OperationsRequests"
        )
    if root.tag != f"{_Q}OperationsSchedule":
        raise ErpRejected(f"{source}: expected a B2MML V0700 OperationsSchedule, found {root.tag}")
    return root


def _produced(request: ET.Element) -> ET.Element | None:
    for material in request.iter(f"{_Q}MaterialRequirement"):
        if _text(material, "b:MaterialUse") == "Produced":
            return material
    return None


def _order(request: ET.Element, source: str) -> WorkOrder:
    erp_id = _text(request, "b:ID")
    material = _produced(request)
    quantity = _text(material, "b:Quantity/b:QuantityString")
    if not erp_id or material is None or not quantity:
        raise ErpRejected(
            f"{source}: OperationsRequest {erp_id or '(no ID)'} lacks an ID or a "
            "MaterialRequirement with MaterialUse Produced and a Quantity"
        )
    ict = ""
    for param in request.iter(f"{_Q}SegmentParameter"):
        if _text(param, "b:ID") == "ideal_cycle_time_s":
            ict = _text(param, "b:Value/b:ValueString")
    try:
        return WorkOrder(
            erp_id=erp_id,
            number=erp_id,
            product_code=_text(material, "b:MaterialDefinitionID"),
            product_name=_text(request, "b:Description"),
            quantity=float(quantity),
            uom=_text(material, "b:Quantity/b:UnitOfMeasure") or "unit",
            status=_STATES.get(_text(request, "b:RequestState"), WorkOrderStatus.RELEASED),
            planned_start=_time(_text(request, "b:StartTime")),
            planned_end=_time(_text(request, "b:EndTime")),
            ideal_cycle_time_s=float(ict) if ict else None,
            erp_revision=source,
        )
    except ValueError as err:
        raise ErpRejected(f"{source}: OperationsRequest {erp_id}: {err}") from err


def parse_schedule(xml: bytes, source: str) -> list[WorkOrder]:
    """Work orders of one OperationsSchedule; ErpRejected names the file and the problem."""
    root = _root(xml, source)
    return [_order(request, source) for request in root.findall(f"{_Q}OperationsRequest")]


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, f"{_Q}{tag}")
    if text is not None:
        node.text = text
    return node


def _quantity(parent: ET.Element, qty: float, uom: str) -> None:
    q = _sub(parent, "Quantity")
    _sub(q, "QuantityString", f"{qty:g}")
    _sub(q, "UnitOfMeasure", uom)


def _material_actual(parent: ET.Element, order: WorkOrder, qty: float, scrap: bool) -> None:
    m = _sub(parent, "MaterialActual")
    _sub(m, "MaterialDefinitionID", order.product_code)
    use = _sub(m, "MaterialUse", "Other" if scrap else "Produced")
    if scrap:
        use.set("OtherValue", SCRAP)
    _quantity(m, qty, order.uom)


def _document(tag: str) -> ET.Element:
    ET.register_namespace("", NS)
    return ET.Element(f"{_Q}{tag}")


def _bytes(root: ET.Element) -> bytes:
    return bytes(ET.tostring(root, xml_declaration=True, encoding="utf-8"))


def performance_xml(c: Confirmation, order: WorkOrder) -> bytes:
    """An OperationsPerformance document for one confirmation of ``order``."""
    root = _document("OperationsPerformance")
    _sub(root, "ID", c.idempotency_key)
    _sub(root, "OperationsType", "Production")
    response = _sub(root, "OperationsResponse")
    _sub(response, "ID", c.idempotency_key)
    _sub(response, "OperationsType", "Production")
    _sub(response, "OperationsRequestID", c.work_order_erp_id)
    _sub(response, "StartTime", c.start.isoformat())
    _sub(response, "EndTime", c.end.isoformat())
    _sub(response, "ResponseState", "Completed" if c.final else "Running")
    segment = _sub(response, "SegmentResponse")
    _sub(segment, "ID", c.operation_erp_id or c.idempotency_key)
    _sub(segment, "ActualStartTime", c.start.isoformat())
    _sub(segment, "ActualEndTime", c.end.isoformat())
    for name, seconds in (("run_seconds", c.run_seconds), ("downtime_seconds", c.downtime_seconds)):
        data = _sub(segment, "SegmentData")
        _sub(data, "ID", name)
        value = _sub(data, "Value")
        _sub(value, "ValueString", f"{seconds:g}")
        _sub(value, "UnitOfMeasure", "s")
    _sub(_sub(segment, "EquipmentActual"), "EquipmentID", c.machine)
    _material_actual(segment, order, c.good_quantity, scrap=False)
    if c.scrap_quantity:
        _material_actual(segment, order, c.scrap_quantity, scrap=True)
    return _bytes(root)


def schedule_xml(orders: list[WorkOrder], schedule_id: str = "plantbus-demo") -> bytes:
    """An OperationsSchedule for ``orders`` (used for demos and tests)."""
    root = _document("OperationsSchedule")
    _sub(root, "ID", schedule_id)
    _sub(root, "OperationsType", "Production")
    for order in orders:
        request = _sub(root, "OperationsRequest")
        _sub(request, "ID", order.erp_id)
        _sub(request, "Description", order.product_name)
        _sub(request, "OperationsType", "Production")
        if order.planned_start:
            _sub(request, "StartTime", order.planned_start.isoformat())
        if order.planned_end:
            _sub(request, "EndTime", order.planned_end.isoformat())
        segment = _sub(request, "SegmentRequirement")
        _sub(segment, "ID", order.erp_id)
        if order.ideal_cycle_time_s:
            param = _sub(segment, "SegmentParameter")
            _sub(param, "ID", "ideal_cycle_time_s")
            _sub(_sub(param, "Value"), "ValueString", f"{order.ideal_cycle_time_s:g}")
        produced = _sub(segment, "MaterialRequirement")
        _sub(produced, "MaterialDefinitionID", order.product_code)
        _sub(produced, "MaterialUse", "Produced")
        _quantity(produced, order.quantity, order.uom)
    return _bytes(root)
