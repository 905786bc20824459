"""Master data and production orders for a demo or test Tryton database.

Creates, over JSON-RPC: a company with a currency and an employee for the admin user,
a finished product and its raw material, a work center named like the Plantbus line, a
routing with one operation, a BOM, and the warehouse's lost-and-found location as its
waste location (for scrap). Then :func:`release_order` creates productions and releases
them (``wait``), as a planner would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from plantbus_tryton.rpc import TrytonRpc

__all__ = ["SamplePlant", "maintenance_project", "release_order", "release_orders", "seed_plant"]


@dataclass(frozen=True)
class SamplePlant:
    """Ids of the master data a production needs."""

    company: int
    currency: int
    unit: int
    product: int
    product_code: str
    bom: int
    routing: int
    work_center: int
    warehouse: int
    production_location: int
    storage: int
    scrap: int


async def _create(rpc: TrytonRpc, model: str, values: dict[str, Any]) -> int:
    [ident] = await rpc.call(model, "create", [values])
    return int(ident)


async def _company(rpc: TrytonRpc) -> tuple[int, int]:
    """(company, currency): a company with an employee, made the admin's."""
    currency = await _create(
        rpc,
        "currency.currency",
        {"name": "Euro", "code": "EUR", "symbol": "EUR", "rounding": Decimal("0.01"), "digits": 2},
    )
    party = await _create(rpc, "party.party", {"name": "Plantbus Demo Works"})
    company = await _create(rpc, "company.company", {"party": party, "currency": currency})
    person = await _create(rpc, "party.party", {"name": "Plantbus"})
    employee = await _create(rpc, "company.employee", {"party": person, "company": company})
    admin = await rpc.call("res.user", "search", [["login", "=", rpc.user]])
    await rpc.call(
        "res.user",
        "write",
        admin,
        {
            "companies": [["add", [company]]],
            "company": company,
            "employees": [["add", [employee]]],
            "employee": employee,
        },
    )
    await rpc.login()  # the context now carries the company
    return company, currency


async def _products(rpc: TrytonRpc, unit: int) -> tuple[int, int]:
    """(shaft, steel): the product made and the material it is made from."""
    templates = await rpc.call(
        "product.template",
        "create",
        [
            {
                "name": "Drive shaft 20 mm",
                "code": "SHAFT-20",
                "type": "goods",
                "default_uom": unit,
                "producible": True,
                "products": [["create", [{}]]],
            },
            {
                "name": "Steel bar 25 mm",
                "code": "BAR-25",
                "type": "goods",
                "default_uom": unit,
                "products": [["create", [{}]]],
            },
        ],
    )
    shaft, steel = (
        row["products"][0]
        for row in await rpc.call("product.template", "read", templates, ["products"])
    )
    return shaft, steel


async def _warehouse(rpc: TrytonRpc) -> tuple[dict[str, Any], int]:
    """(the warehouse, its waste location): lost-and-found takes the scrap."""
    locations = await rpc.call(
        "stock.location",
        "search_read",
        [["type", "in", ["warehouse", "lost_found"]]],
        0,
        None,
        None,
        ["type", "production_location", "storage_location"],
    )
    warehouse = next(row for row in locations if row["type"] == "warehouse")
    lost_found = next(row["id"] for row in locations if row["type"] == "lost_found")
    await rpc.call(
        "stock.location", "write", [warehouse["id"]], {"waste_locations": [["add", [lost_found]]]}
    )
    return warehouse, lost_found


async def _routing(rpc: TrytonRpc, shaft: int, steel: int, unit: int) -> tuple[int, int]:
    """(bom, routing): one steel bar makes one shaft, in one turning step."""
    operation = await _create(rpc, "production.routing.operation", {"name": "Turning"})
    bom = await _create(
        rpc,
        "production.bom",
        {
            "name": "Drive shaft 20 mm",
            "inputs": [["create", [{"product": steel, "quantity": 1, "unit": unit}]]],
            "outputs": [["create", [{"product": shaft, "quantity": 1, "unit": unit}]]],
        },
    )
    routing = await _create(
        rpc,
        "production.routing",
        {
            "name": "Drive shaft 20 mm",
            "steps": [["create", [{"operation": operation, "sequence": 1}]]],
            "boms": [["add", [bom]]],
        },
    )
    return bom, routing


async def seed_plant(rpc: TrytonRpc, work_center: str = "line1") -> SamplePlant:
    """Create the master data in an empty database (modules activated, admin only)."""
    await rpc.login()
    company, currency = await _company(rpc)
    [unit] = await rpc.call("product.uom", "search", [["symbol", "=", "u"]])
    shaft, steel = await _products(rpc, unit)
    warehouse, lost_found = await _warehouse(rpc)
    center = await _create(
        rpc,
        "production.work.center",
        {"name": work_center, "company": company, "warehouse": warehouse["id"]},
    )
    bom, routing = await _routing(rpc, shaft, steel, unit)
    return SamplePlant(
        company=company,
        currency=currency,
        unit=unit,
        product=shaft,
        product_code="SHAFT-20",
        bom=bom,
        routing=routing,
        work_center=center,
        warehouse=warehouse["id"],
        production_location=warehouse["production_location"],
        storage=warehouse["storage_location"],
        scrap=lost_found,
    )


async def release_orders(
    rpc: TrytonRpc, plant: SamplePlant, references: list[str], quantity: float
) -> list[int]:
    """Create one production of ``quantity`` shafts per reference and release them all
    (state waiting), in two requests whatever their number."""
    today = dt.date.today()
    output = {
        "product": plant.product,
        "unit": plant.unit,
        "quantity": quantity,
        "from_location": plant.production_location,
        "to_location": plant.storage,
        "company": plant.company,
        "unit_price": Decimal(0),
        "currency": plant.currency,
    }
    productions = await rpc.call(
        "production",
        "create",
        [
            {
                "reference": reference,
                "product": plant.product,
                "bom": plant.bom,
                "routing": plant.routing,
                "work_center": plant.work_center,
                "quantity": quantity,
                "unit": plant.unit,
                "warehouse": plant.warehouse,
                "location": plant.production_location,
                "planned_date": today,
                "planned_start_date": today,
                "outputs": [["create", [output]]],
            }
            for reference in references
        ],
    )
    await rpc.call("production", "wait", productions)
    return [int(p) for p in productions]


async def release_order(rpc: TrytonRpc, plant: SamplePlant, reference: str, quantity: float) -> int:
    """Create a production for ``quantity`` shafts and release it (state waiting)."""
    [production] = await release_orders(rpc, plant, [reference], quantity)
    return production


async def maintenance_project(rpc: TrytonRpc, company: int, name: str = "Maintenance") -> int:
    """A project for maintenance requests (the ``tryton`` request connector's ``project``)."""
    return await _create(rpc, "project.work", {"name": name, "type": "project", "company": company})
