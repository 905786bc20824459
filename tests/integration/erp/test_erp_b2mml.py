"""ERP sync through the B2MML connector with a real nats-server: orders in, confirmations
out exactly once across an ERP outage and a service restart, dead letters and retry."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring
from plantbus_b2mml.schedule import NS, schedule_xml

from plantbus.erp.service import ErpService
from plantbus.kit.bus import Bus
from plantbus.sdk.connector import WorkOrder
from plantbus.testing.config import put_config
from plantbus.testing.harness import hosted
from plantbus.testing.waiting import wait_until
from plantbus.v1 import oee_pb2

M1 = "s/a/l/m1"


def config(tmp: Path) -> dict[str, Any]:
    return {
        "sites": [
            {
                "name": "s",
                "areas": [{"name": "a", "lines": [{"name": "l", "machines": [{"name": "m1"}]}]}],
            }
        ],
        "erp": [
            {
                "name": "erp1",
                "connector": "b2mml",
                "site": "s",
                "line": "l",
                "poll_interval_s": 0.2,
                "confirm_interval_s": 0.3,
                "settings": {"inbox": str(tmp / "inbox"), "outbox": str(tmp / "outbox")},
            }
        ],
    }


@pytest.fixture
async def exchange(bus: Bus, tmp_path: Path) -> AsyncIterator[Path]:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "schedule.xml").write_bytes(
        schedule_xml([WorkOrder("WO-1", "WO-1", "SHAFT", "Shaft", 10, ideal_cycle_time_s=2.0)])
    )
    await put_config(bus, config(tmp_path))
    yield tmp_path


async def produce(bus: Bus, total: int, good: int) -> None:
    snap = oee_pb2.OeeSnapshot(
        scope=M1, work_order="WO-1", order_total_count=total, order_good_count=good, state="running"
    )
    await bus.publish("plantbus.v1.oee.s.a.l.m1", snap)


def final(path: Path) -> bool:
    state = fromstring(path.read_bytes()).findtext(f".//{{{NS}}}ProductionResponseState")
    return state == "Completed"


def confirmations(outbox: Path) -> list[tuple[str, list[str]]]:
    out = []
    for path in sorted(outbox.glob("WO-1*.xml")):
        root = fromstring(path.read_bytes())
        quantities = [q.text or "" for q in root.iter(f"{{{NS}}}QuantityString")]
        out.append((path.stem, quantities))
    return out


async def test_orders_in_confirmations_out_exactly_once(
    bus: Bus, nats_url: str, exchange: Path
) -> None:
    outbox = exchange / "outbox"
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        order = await wait_until(lambda: erp.orders.get("WO-1"), timeout=30)
        assert (order.quantity, order.ideal_cycle_time_s, order.status) == (10, 2.0, "released")
        await erp.start_order("WO-1", M1, "tester")
        assert (outbox / "WO-1.status").read_text() == "running\n"
        await produce(bus, 4, 3)
        await wait_until(
            lambda: confirmations(outbox) == [("WO-1_1", ["3", "1"])],
            message="first partial confirmation",
        )
        # the ERP goes away (what it booked so far is kept aside): its directory becomes a file
        booked = exchange / "booked"
        shutil.copytree(outbox, booked)
        shutil.rmtree(outbox)
        outbox.write_text("not a directory")
        await produce(bus, 7, 6)
        conn = erp.connections["erp1"]
        await wait_until(lambda: not conn.worker.reachable, timeout=30, message="ERP seen as down")
    # the service is stopped while a confirmation is pending; the ERP comes back
    outbox.unlink()
    outbox.mkdir()
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: len(confirmations(outbox)) == 1, timeout=40)
        assert confirmations(outbox) == [("WO-1_2", ["3"])]  # 6 good - 3 confirmed, no scrap
        await produce(bus, 10, 9)
        await wait_until(lambda: erp.orders["WO-1"].good_quantity == 9, timeout=30)
        await erp.complete("WO-1", "tester")
        await wait_until(
            lambda: any(final(p) for p in outbox.glob("WO-1_*.xml")),
            timeout=30,
            message="final confirmation",
        )
        assert (outbox / "WO-1.status").read_text() == "completed\n"
    # in the ERP: every part confirmed exactly once (9 good, 1 scrap in total)
    good = scrap = 0.0
    for path in [*booked.glob("WO-1_*.xml"), *outbox.glob("WO-1_*.xml")]:
        root = fromstring(path.read_bytes())
        for material in root.iter(f"{{{NS}}}MaterialProducedActual"):
            qty = float(material.findtext(f"{{{NS}}}Quantity/{{{NS}}}QuantityString") or 0)
            if material.findtext(f"{{{NS}}}MaterialUse") == "Scrap":
                scrap += qty
            else:
                good += qty
    assert (good, scrap) == (9, 1)


async def test_rejected_confirmation_is_dead_lettered_and_retried(
    bus: Bus, nats_url: str, exchange: Path
) -> None:
    outbox = exchange / "outbox"
    schedule = exchange / "inbox" / "schedule.xml"
    async with hosted([ErpService], nats_url=nats_url, data_dir=exchange / "hub") as runner:
        erp = runner.services["erp"]
        assert isinstance(erp, ErpService)
        await wait_until(lambda: erp.orders.get("WO-1"))
        await erp.start_order("WO-1", M1, "tester")
        saved = schedule.read_bytes()
        schedule.unlink()  # the ERP dropped the order
        await wait_until(lambda: not erp.connections["erp1"].connector.products)  # type: ignore[attr-defined]
        await produce(bus, 2, 2)
        letters = await wait_until(erp.outbox.dead_letters, message="dead letter")
        assert "WO-1 is not in the ERP's schedule" in letters[0].error
        assert not list(outbox.glob("WO-1_*.xml"))
        schedule.write_bytes(saved)  # fixed in the ERP
        await wait_until(lambda: erp.connections["erp1"].connector.products)  # type: ignore[attr-defined]
        assert await erp.outbox.retry(letters[0].confirmation.idempotency_key)
        await wait_until(lambda: confirmations(outbox) == [("WO-1_1", ["2"])])
        assert await erp.outbox.dead_letters() == []
