"""What the ERP side of a B2MML exchange holds, read back from the outbox's
OperationsPerformance files: for tests and checks that confirmations landed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from defusedxml.ElementTree import fromstring

from plantbus_b2mml.schedule import NS, SCRAP

__all__ = ["Performance", "booked", "performances"]

_Q = f"{{{NS}}}"


@dataclass(frozen=True)
class Performance:
    """One confirmation as written: its file, order, quantities, unit and state."""

    name: str
    order: str
    good: float
    scrap: float
    units: frozenset[str]
    final: bool


def _read(path: Path) -> Performance:
    root = fromstring(path.read_bytes(), forbid_dtd=True)
    good = scrap = 0.0
    units = set()
    for material in root.iter(f"{_Q}MaterialActual"):
        qty = float(material.findtext(f"{_Q}Quantity/{_Q}QuantityString") or 0)
        units.add(material.findtext(f"{_Q}Quantity/{_Q}UnitOfMeasure") or "")
        use = material.find(f"{_Q}MaterialUse")
        if use is not None and use.get("OtherValue") == SCRAP:
            scrap += qty
        else:
            good += qty
    return Performance(
        name=path.name,
        order=root.findtext(f"{_Q}OperationsResponse/{_Q}OperationsRequestID") or "",
        good=good,
        scrap=scrap,
        units=frozenset(units),
        final=root.findtext(f".//{_Q}ResponseState") == "Completed",
    )


def performances(outbox: Path, erp_id: str | None = None) -> list[Performance]:
    """Every performance file in ``outbox`` (of one order when given), by file name."""
    found = [_read(p) for p in sorted(outbox.glob("*.xml"))]
    return [p for p in found if erp_id is None or p.order == erp_id]


def booked(outbox: Path, erp_id: str) -> tuple[float, float]:
    """Good and scrap quantities confirmed for ``erp_id`` in all."""
    mine = performances(outbox, erp_id)
    return sum(p.good for p in mine), sum(p.scrap for p in mine)
